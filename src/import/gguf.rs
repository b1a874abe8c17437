//! GGUF reading: metadata and tensor directory; the block formats themselves are
//! in `quants`.

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

use super::quants::{self, TensorError};
pub use super::quants::{GgmlType, Q4Blocks};

#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    /// GGUF order: `dims[0]` is the innermost (row length).
    pub dims: Vec<u64>,
    pub kind: GgmlType,
    offset: u64,
}

impl TensorInfo {
    /// Elements in the tensor (checked against the file's size when it was read).
    pub fn n_elements(&self) -> usize {
        self.dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX)
    }
    /// (rows, row length)
    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = self.dims.first().map_or(0, |&d| d as usize);
        (self.n_elements().checked_div(cols).unwrap_or(0), cols)
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

/// A GGUF file candor cannot read: its path, and what was wrong where.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct GgufError {
    pub path: PathBuf,
    pub message: String,
}

/// The alignment of the tensor data when the file does not say.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Smallest encoded size of a metadata entry (key length, an empty key, type,
/// a one-byte value) and of a tensor entry (name length, dimension count, one
/// dimension, type, offset): counts that cannot fit in the file are refused
/// before anything is allocated for them.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
const MIN_TENSOR_BYTES: u64 = 8 + 4 + 8 + 4 + 8;

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> u64 {
        (self.b.len() - self.pos) as u64
    }
    fn take(&mut self, n: u64) -> Result<&[u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "truncated file: wanted {n} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }
    fn string(&mut self) -> Result<String, String> {
        let at = self.pos;
        let n = self.u64()?;
        let b = self
            .take(n)
            .map_err(|e| format!("string of {n} bytes at offset {at}: {e}"))?;
        Ok(String::from_utf8_lossy(b).into_owned())
    }
    fn value(&mut self, ty: u32, depth: usize) -> Result<Value, String> {
        Ok(match ty {
            0 => Value::U64(self.array::<1>()?[0] as u64),
            1 => Value::I64(self.array::<1>()?[0] as i8 as i64),
            2 => Value::U64(u16::from_le_bytes(self.array()?) as u64),
            3 => Value::I64(i16::from_le_bytes(self.array()?) as i64),
            4 => Value::U64(self.u32()? as u64),
            5 => Value::I64(self.u32()? as i32 as i64),
            6 => Value::F64(f32::from_le_bytes(self.array()?) as f64),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err("nested arrays too deep".into());
                }
                let et = self.u32()?;
                let n = self.u64()?;
                // Every element takes at least a byte.
                if n > self.remaining() {
                    return Err(format!(
                        "array of {n} elements at offset {} exceeds the file's {} remaining bytes",
                        self.pos,
                        self.remaining()
                    ));
                }
                let mut v = Vec::with_capacity((n as usize).min(1 << 16));
                for _ in 0..n {
                    v.push(self.value(et, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(self.u64()? as i64),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
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

    /// Parses a GGUF file already in memory; `path` names it in errors.
    pub fn from_bytes(path: &Path, data: Vec<u8>) -> Result<Gguf, GgufError> {
        Self::parse(path, data).map_err(|message| GgufError {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Reads the header and the tensor directory, checking every count,
    /// length, dimension and offset against the file, so that nothing later
    /// can index outside it.
    fn parse(path: &Path, data: Vec<u8>) -> Result<Gguf, String> {
        let mut r = Reader { b: &data, pos: 0 };
        if r.take(4).ok() != Some(b"GGUF".as_slice()) {
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
        if n_kv > r.remaining() / MIN_KV_BYTES {
            return Err(format!(
                "header claims {n_kv} metadata entries, more than the file's {} bytes can hold",
                data.len()
            ));
        }
        if n_tensors > r.remaining() / MIN_TENSOR_BYTES {
            return Err(format!(
                "header claims {n_tensors} tensors, more than the file's {} bytes can hold",
                data.len()
            ));
        }
        let mut metadata = BTreeMap::new();
        for i in 0..n_kv {
            let k = r.string().map_err(|e| format!("metadata entry {i}: {e}"))?;
            let ty = r.u32().map_err(|e| format!("metadata {k}: {e}"))?;
            let v = r.value(ty, 0).map_err(|e| format!("metadata {k}: {e}"))?;
            if metadata.insert(k.clone(), v).is_some() {
                return Err(format!("metadata {k} appears twice"));
            }
        }
        let align = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() && a <= 1 << 30 => a,
                _ => {
                    return Err(format!(
                        "general.alignment is {v:?}: expected a power of two (the default is {DEFAULT_ALIGNMENT})"
                    ))
                }
            },
        };
        let mut tensors = BTreeMap::new();
        for i in 0..n_tensors {
            let name = r.string().map_err(|e| format!("tensor entry {i}: {e}"))?;
            let t = Self::tensor_entry(&mut r, &name, align)
                .map_err(|e| format!("tensor {name}: {e}"))?;
            if tensors.insert(name.clone(), t).is_some() {
                return Err(format!("tensor {name} appears twice"));
            }
        }
        // A file without tensors may end before the padding of an empty data section.
        let data_start = (r.pos as u64)
            .checked_next_multiple_of(align)
            .filter(|&s| s <= data.len() as u64 || tensors.is_empty())
            .ok_or_else(|| "the tensor data would start past the end of the file".to_string())?
            .min(data.len() as u64) as usize;
        let available = (data.len() - data_start) as u64;
        for t in tensors.values() {
            let (per, bytes) = t.kind.block();
            let len = (t.n_elements() as u64 / per as u64) * bytes as u64;
            if t.offset.checked_add(len).is_none_or(|end| end > available) {
                return Err(format!(
                    "tensor {}: {len} bytes at data offset {} extend past the end of the file ({available} bytes of tensor data)",
                    t.name, t.offset
                ));
            }
        }
        Ok(Gguf {
            path: path.to_path_buf(),
            metadata,
            tensors,
            data,
            data_start,
        })
    }

    /// One tensor directory entry after its name.
    fn tensor_entry(r: &mut Reader<'_>, name: &str, align: u64) -> Result<TensorInfo, String> {
        let nd = r.u32()?;
        if !(1..=4).contains(&nd) {
            return Err(format!("{nd} dimensions (expected 1 to 4)"));
        }
        let dims = (0..nd).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
        let ty = r.u32()?;
        let offset = r.u64()?;
        let kind = GgmlType::from_id(ty).ok_or_else(|| {
            let name = GgmlType::id_name(ty).map_or(String::new(), |n| format!(" ({n})"));
            format!(
                "GGML type {ty}{name} is not supported ({} are)",
                GgmlType::supported_list()
            )
        })?;
        if dims.contains(&0) {
            return Err(format!("a zero dimension in {dims:?}"));
        }
        // Elements must fit in memory-sized arithmetic; the file-size check
        // afterwards bounds them for real.
        let n = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .filter(|&n| n < 1 << 48)
            .ok_or_else(|| format!("dimensions {dims:?} overflow"))?;
        let (per, _) = kind.block();
        if dims[0] % per as u64 != 0 {
            return Err(format!(
                "rows of {} elements are not whole {kind} blocks of {per}",
                dims[0]
            ));
        }
        debug_assert!(n % per as u64 == 0);
        if offset % align != 0 {
            return Err(format!(
                "data offset {offset} is not a multiple of the alignment {align}"
            ));
        }
        Ok(TensorInfo {
            name: name.to_string(),
            dims,
            kind,
            offset,
        })
    }

    fn byte_len(&self, t: &TensorInfo) -> usize {
        let (per, bytes) = t.kind.block();
        t.n_elements() / per * bytes
    }

    /// The tensor's bytes; empty for a tensor that is not this file's.
    fn bytes(&self, t: &TensorInfo) -> &[u8] {
        let start = self.data_start.saturating_add(t.offset as usize);
        start
            .checked_add(self.byte_len(t))
            .and_then(|end| self.data.get(start..end))
            .unwrap_or(&[])
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    pub fn tensor(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors.get(name).ok_or_else(|| GgufError {
            path: self.path.clone(),
            message: format!("tensor {name} is missing"),
        })
    }

    pub fn raw(&self, t: &TensorInfo) -> &[u8] {
        self.bytes(t)
    }

    /// All values as f32, in GGUF order (rows of `dims[0]`), exactly as llama.cpp
    /// dequantizes them; an error names the file and the tensor.
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>, TensorError> {
        quants::dequantize(t.kind, self.raw(t), t.n_elements()).map_err(|source| TensorError {
            path: self.path.clone(),
            tensor: t.name.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
