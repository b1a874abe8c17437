//! GGUF reading: metadata, tensor directory, and dequantization of the block
//! formats llama.cpp writes for small models (F32, F16, Q8_0, Q4_0, Q4_1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(v) => Some(*v),
            Value::I64(v) if *v >= 0 => Some(*v as u64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::F64(v) => Some(*v),
            Value::U64(v) => Some(*v as f64),
            Value::I64(v) => Some(*v as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// GGML tensor element types candor can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q8_0,
}

impl GgmlType {
    fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            8 => GgmlType::Q8_0,
            _ => return None,
        })
    }
    /// (elements per block, bytes per block)
    fn block(self) -> (usize, usize) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 => (1, 2),
            GgmlType::Q4_0 => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q8_0 => (32, 34),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `dims[0]` is the innermost (row length).
    pub dims: Vec<u64>,
    pub kind: GgmlType,
    offset: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product::<u64>() as usize
    }
    /// (rows, row length)
    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = self.dims[0] as usize;
        (self.n_elements() / cols.max(1), cols)
    }
}

/// A parsed GGUF file, held in memory.
pub struct Gguf {
    pub path: PathBuf,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: BTreeMap<String, TensorInfo>,
    data: Vec<u8>,
    data_start: usize,
}

#[derive(Debug)]
pub struct GgufError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for GgufError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}
impl std::error::Error for GgufError {}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.pos + n > self.b.len() {
            return Err(format!(
                "truncated file: wanted {n} bytes at offset {}",
                self.pos
            ));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u64()? as usize;
        let b = self.take(n)?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }
    fn value(&mut self, ty: u32, depth: usize) -> Result<Value, String> {
        Ok(match ty {
            0 => Value::U64(self.take(1)?[0] as u64),
            1 => Value::I64(self.take(1)?[0] as i8 as i64),
            2 => Value::U64(u16::from_le_bytes(self.take(2)?.try_into().unwrap()) as u64),
            3 => Value::I64(i16::from_le_bytes(self.take(2)?.try_into().unwrap()) as i64),
            4 => Value::U64(self.u32()? as u64),
            5 => Value::I64(self.u32()? as i32 as i64),
            6 => Value::F64(f32::from_le_bytes(self.take(4)?.try_into().unwrap()) as f64),
            7 => Value::Bool(self.take(1)?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err("nested arrays too deep".into());
                }
                let et = self.u32()?;
                let n = self.u64()? as usize;
                if n > self.b.len() {
                    return Err(format!("array length {n} exceeds file size"));
                }
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.value(et, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.u64()? as i64),
            12 => Value::F64(f64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            t => return Err(format!("unknown metadata value type {t}")),
        })
    }
}

impl Gguf {
    pub fn open(path: &Path) -> Result<Gguf, GgufError> {
        let err = |message: String| GgufError {
            path: path.to_path_buf(),
            message,
        };
        let data = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Self::parse(path, data).map_err(err)
    }

    fn parse(path: &Path, data: Vec<u8>) -> Result<Gguf, String> {
        let mut r = Reader { b: &data, pos: 0 };
        if r.take(4)? != b"GGUF" {
            return Err("not a GGUF file (bad magic)".into());
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!(
                "unsupported GGUF version {version} (expected 2 or 3)"
            ));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let k = r.string()?;
            let ty = r.u32()?;
            let v = r.value(ty, 0)?;
            metadata.insert(k, v);
        }
        let mut tensors = BTreeMap::new();
        for _ in 0..n_tensors {
            let name = r.string()?;
            let nd = r.u32()? as usize;
            if nd > 4 {
                return Err(format!("tensor {name}: {nd} dimensions"));
            }
            let dims = (0..nd).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
            let ty = r.u32()?;
            let offset = r.u64()?;
            let kind = GgmlType::from_id(ty)
                .ok_or_else(|| format!("tensor {name}: GGML type {ty} is not supported (F32, F16, Q4_0, Q4_1, Q8_0 are)"))?;
            tensors.insert(
                name.clone(),
                TensorInfo {
                    name,
                    dims,
                    kind,
                    offset,
                },
            );
        }
        let align = metadata
            .get("general.alignment")
            .and_then(Value::as_u64)
            .unwrap_or(32) as usize;
        let data_start = r.pos.div_ceil(align) * align;
        let g = Gguf {
            path: path.to_path_buf(),
            metadata,
            tensors,
            data,
            data_start,
        };
        for t in g.tensors.values() {
            let end = g.data_start + t.offset as usize + g.byte_len(t);
            if end > g.data.len() {
                return Err(format!(
                    "tensor {} extends past the end of the file",
                    t.name
                ));
            }
        }
        Ok(g)
    }

    fn byte_len(&self, t: &TensorInfo) -> usize {
        let (per, bytes) = t.kind.block();
        t.n_elements() / per * bytes
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, String> {
        self.tensors
            .get(name)
            .ok_or_else(|| format!("tensor {name} is missing"))
    }

    pub fn raw(&self, t: &TensorInfo) -> &[u8] {
        let s = self.data_start + t.offset as usize;
        &self.data[s..s + self.byte_len(t)]
    }

    /// All values as f32, in GGUF order (rows of `dims[0]`).
    pub fn dequantize(&self, t: &TensorInfo) -> Vec<f32> {
        dequantize(t.kind, self.raw(t), t.n_elements())
    }
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

/// Dequantizes `n` values of type `kind` from `raw`.
pub fn dequantize(kind: GgmlType, raw: &[u8], n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    match kind {
        GgmlType::F32 => out.extend(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        ),
        GgmlType::F16 => out.extend(raw.chunks_exact(2).map(f16)),
        GgmlType::Q8_0 => {
            for b in raw.chunks_exact(34) {
                let d = f16(&b[0..2]);
                out.extend(b[2..].iter().map(|&q| d * (q as i8) as f32));
            }
        }
        GgmlType::Q4_0 => {
            for b in raw.chunks_exact(18) {
                let d = f16(&b[0..2]);
                let qs = &b[2..];
                out.extend(qs.iter().map(|&q| d * ((q & 0xF) as i32 - 8) as f32));
                out.extend(qs.iter().map(|&q| d * ((q >> 4) as i32 - 8) as f32));
            }
        }
        GgmlType::Q4_1 => {
            for b in raw.chunks_exact(20) {
                let (d, m) = (f16(&b[0..2]), f16(&b[2..4]));
                let qs = &b[4..];
                out.extend(qs.iter().map(|&q| d * (q & 0xF) as f32 + m));
                out.extend(qs.iter().map(|&q| d * (q >> 4) as f32 + m));
            }
        }
    }
    out
}

/// 4-bit blocks in MatMulNBits' layout: per block, the 32 nibbles packed two per
/// byte in element order; the scale; and the additive offset (Q4_1 only).
pub struct Q4Blocks {
    pub packed: Vec<u8>,
    pub scales: Vec<f32>,
    pub offsets: Option<Vec<f32>>,
}

/// Repacks Q4_0/Q4_1 blocks (GGUF stores element j and j+16 in one byte).
pub fn repack_q4(kind: GgmlType, raw: &[u8]) -> Option<Q4Blocks> {
    let (bytes, has_min) = match kind {
        GgmlType::Q4_0 => (18, false),
        GgmlType::Q4_1 => (20, true),
        _ => return None,
    };
    let nb = raw.len() / bytes;
    let mut packed = Vec::with_capacity(nb * 16);
    let mut scales = Vec::with_capacity(nb);
    let mut offsets = if has_min {
        Some(Vec::with_capacity(nb))
    } else {
        None
    };
    for b in raw.chunks_exact(bytes) {
        let d = f16(&b[0..2]);
        scales.push(d);
        let qs = if has_min {
            // value = d·q + m = d·(q − 8) + (m + 8d)
            offsets.as_mut().unwrap().push(f16(&b[2..4]) + 8.0 * d);
            &b[4..]
        } else {
            &b[2..]
        };
        let mut q = [0u8; 32];
        for j in 0..16 {
            q[j] = qs[j] & 0xF;
            q[j + 16] = qs[j] >> 4;
        }
        for j in 0..16 {
            packed.push(q[2 * j] | (q[2 * j + 1] << 4));
        }
    }
    Some(Q4Blocks {
        packed,
        scales,
        offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16b(x: f32) -> [u8; 2] {
        half::f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q4_1_dequantizes_low_then_high_nibbles() {
        let mut b = vec![];
        b.extend(f16b(0.5));
        b.extend(f16b(-1.0));
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let v = dequantize(GgmlType::Q4_1, &b, 32);
        assert_eq!(v[0], -1.0);
        assert_eq!(v[3], 0.5 * 3.0 - 1.0);
        assert_eq!(v[16], 0.5 * 15.0 - 1.0);
        let r = repack_q4(GgmlType::Q4_1, &b).unwrap();
        // Element 2j in the low nibble, 2j+1 in the high nibble.
        assert_eq!(r.packed[0], 1 << 4);
        assert_eq!(r.packed[8], 15 | (14 << 4));
        let off = r.offsets.unwrap()[0];
        for (e, want) in v.iter().enumerate() {
            let q = (r.packed[e / 2] >> (4 * (e % 2))) & 0xF;
            assert_eq!(r.scales[0] * (q as f32 - 8.0) + off, *want);
        }
    }

    #[test]
    fn q8_0_and_q4_0() {
        let mut b = vec![];
        b.extend(f16b(2.0));
        b.extend((0..32i8).map(|i| (i - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &b, 32);
        assert_eq!(v[0], -32.0);
        assert_eq!(v[31], 30.0);
        let mut b = vec![];
        b.extend(f16b(0.25));
        b.extend([0x80u8; 16]);
        let v = dequantize(GgmlType::Q4_0, &b, 32);
        assert_eq!(v[0], -2.0);
        assert_eq!(v[16], 0.0);
    }

    #[test]
    fn rejects_garbage() {
        let e = Gguf::parse(Path::new("x.gguf"), b"GGUF\x09\0\0\0".to_vec())
            .err()
            .unwrap();
        assert!(e.contains("version 9"), "{e}");
        let e = Gguf::parse(Path::new("x.gguf"), b"PK\x03\x04".to_vec())
            .err()
            .unwrap();
        assert!(e.contains("magic"), "{e}");
        let e = Gguf::parse(Path::new("x.gguf"), b"GGUF\x03\0\0\0\x01".to_vec())
            .err()
            .unwrap();
        assert!(e.contains("truncated"), "{e}");
    }
}
