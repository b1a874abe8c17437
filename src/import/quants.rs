//! GGML tensor element types: block layouts, exact dequantization, and the
//! 4-bit blocks MatMulNBits multiplies by (kept exactly where the source blocks
//! allow it, requantized otherwise).
//!
//! Every block format is decoded to integers `q` and, per sub-block, a scale `s`
//! and a minimum `m`, with value = s·q − m computed in float32 in the order
//! llama.cpp's reference dequantization uses (s itself being the product of the
//! super-block scale and the sub-block's integer scale, as there): the values
//! are the reference values to the last bit (tests/quants.rs compares them with
//! the `gguf` Python package's).

use std::fmt;
use std::path::PathBuf;

/// GGML tensor element types candor can read.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GgmlType {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
}

/// Elements per K-quant super-block.
const QK_K: usize = 256;

/// GGML's type ids and names, the supported ones and the rest (named in errors).
const NAMES: [(u32, &str); 37] = [
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (4, "Q4_2"),
    (5, "Q4_3"),
    (6, "Q5_0"),
    (7, "Q5_1"),
    (8, "Q8_0"),
    (9, "Q8_1"),
    (10, "Q2_K"),
    (11, "Q3_K"),
    (12, "Q4_K"),
    (13, "Q5_K"),
    (14, "Q6_K"),
    (15, "Q8_K"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (30, "BF16"),
    (31, "Q4_0_4_4"),
    (32, "Q4_0_4_8"),
    (33, "Q4_0_8_8"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
];

impl GgmlType {
    pub const ALL: [GgmlType; 14] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
        GgmlType::Q8_K,
    ];

    /// GGML's id for the type (the `type` field of a GGUF tensor entry).
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q5_0 => 6,
            GgmlType::Q5_1 => 7,
            GgmlType::Q8_0 => 8,
            GgmlType::Q2_K => 10,
            GgmlType::Q3_K => 11,
            GgmlType::Q4_K => 12,
            GgmlType::Q5_K => 13,
            GgmlType::Q6_K => 14,
            GgmlType::Q8_K => 15,
            GgmlType::BF16 => 30,
        }
    }

    pub fn from_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// GGML's name for a type id, supported or not.
    pub fn id_name(id: u32) -> Option<&'static str> {
        NAMES.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
    }

    /// The supported types, for error messages.
    pub fn supported_list() -> String {
        Self::ALL.map(|t| t.to_string()).join(", ")
    }

    pub fn name(self) -> &'static str {
        Self::id_name(self.id()).unwrap_or("?")
    }

    /// (elements per block, bytes per block)
    pub fn block(self) -> (usize, usize) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 | GgmlType::BF16 => (1, 2),
            GgmlType::Q4_0 => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q5_0 => (32, 22),
            GgmlType::Q5_1 => (32, 24),
            GgmlType::Q8_0 => (32, 34),
            GgmlType::Q2_K => (QK_K, 2 + 2 + QK_K / 16 + QK_K / 4),
            GgmlType::Q3_K => (QK_K, 2 + QK_K / 4 + QK_K / 8 + 12),
            GgmlType::Q4_K => (QK_K, 2 + 2 + 12 + QK_K / 2),
            GgmlType::Q5_K => (QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2),
            GgmlType::Q6_K => (QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2),
            GgmlType::Q8_K => (QK_K, 4 + QK_K + QK_K / 8),
        }
    }

    /// Elements sharing one scale (and minimum) inside a block; `None` for float types.
    pub fn sub_block(self) -> Option<usize> {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => None,
            GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K => Some(16),
            GgmlType::Q8_K => Some(QK_K),
            _ => Some(32),
        }
    }

    /// For types whose integers span at most 16 consecutive values, the bias that
    /// maps them onto 0..=15 (a 4-bit nibble): these MatMulNBits stores exactly.
    fn nibble_bias(self) -> Option<i8> {
        match self {
            // q in -8..=7 and -4..=3
            GgmlType::Q4_0 | GgmlType::Q3_K => Some(8),
            // q in 0..=15 and 0..=3
            GgmlType::Q4_1 | GgmlType::Q4_K | GgmlType::Q2_K => Some(0),
            _ => None,
        }
    }

    /// Whether MatMulNBits can hold this type's blocks as 4-bit blocks exactly.
    pub fn is_exact_q4(self) -> bool {
        self.nibble_bias().is_some()
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Tensor data that does not decode.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantError {
    /// The byte count is not the one the element count and type require.
    #[error("{kind} data of {got} bytes for {n} elements: expected {want} bytes ({n} elements in whole blocks of {per} elements / {bytes} bytes)")]
    Length {
        kind: GgmlType,
        n: usize,
        got: usize,
        want: usize,
        per: usize,
        bytes: usize,
    },
    /// The element count is not whole blocks.
    #[error("{n} elements are not whole {kind} blocks of {per}")]
    PartialBlock {
        kind: GgmlType,
        n: usize,
        per: usize,
    },
    /// A value decodes to infinity or NaN (a scale field that is not a finite number, or overflow).
    #[error(
        "element {index} (block {block}) decodes to {value}: {kind} data must give finite numbers"
    )]
    NonFinite {
        kind: GgmlType,
        index: usize,
        block: usize,
        value: f32,
    },
}

/// Dequantization of one tensor failed: the file, the tensor, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: tensor {tensor}: {source}", path.display())]
pub struct TensorError {
    pub path: PathBuf,
    pub tensor: String,
    #[source]
    pub source: QuantError,
}

fn f16(b: &[u8]) -> f32 {
    half::f16::from_le_bytes([b[0], b[1]]).to_f32()
}

/// Checks that `raw` holds exactly `n` elements of `kind` in whole blocks.
pub fn check_len(kind: GgmlType, raw: &[u8], n: usize) -> Result<(), QuantError> {
    let (per, bytes) = kind.block();
    if !n.is_multiple_of(per) {
        return Err(QuantError::PartialBlock { kind, n, per });
    }
    // A count no file could hold (a lying header) must not overflow.
    let want = (n / per).saturating_mul(bytes);
    if raw.len() != want {
        return Err(QuantError::Length {
            kind,
            n,
            got: raw.len(),
            want,
            per,
            bytes,
        });
    }
    Ok(())
}

/// One block decoded: value `e` = `s[e / sub]`·`q[e]` − `m[e / sub]`.
struct Decoded {
    q: [i8; QK_K],
    s: [f32; 16],
    m: [f32; 16],
}

impl Decoded {
    fn new() -> Self {
        Decoded {
            q: [0; QK_K],
            s: [0.0; 16],
            m: [0.0; 16],
        }
    }
}

/// The K-quants' twelve bytes of 6-bit scales and minima for eight sub-blocks:
/// bytes 0–3 hold scales 0–3 in their low six bits, bytes 4–7 minima 0–3; the
/// top two bits of bytes 0–3 (4–7) are the high bits of scales (minima) 4–7,
/// whose low four bits are the low (high) nibbles of bytes 8–11.
fn k_scale_min(sc: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (sc[j] & 63, sc[j + 4] & 63)
    } else {
        (
            (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4),
            (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4),
        )
    }
}

/// Decodes one block of a quantized type (`b` is exactly one block's bytes).
// Index loops read as the layouts are documented.
#[allow(clippy::needless_range_loop)]
fn decode(kind: GgmlType, b: &[u8], d: &mut Decoded) {
    match kind {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => {
            unreachable!("float types are not blocks")
        }
        GgmlType::Q4_0 | GgmlType::Q4_1 => {
            // d (f16), [m (f16)], 16 bytes: element j in the low nibble of byte j, j+16 in the high.
            d.s[0] = f16(&b[0..2]);
            let qs = if kind == GgmlType::Q4_1 {
                d.m[0] = -f16(&b[2..4]);
                &b[4..20]
            } else {
                d.m[0] = 0.0;
                &b[2..18]
            };
            let bias = if kind == GgmlType::Q4_0 { 8 } else { 0 };
            for j in 0..16 {
                d.q[j] = (qs[j] & 0xF) as i8 - bias;
                d.q[j + 16] = (qs[j] >> 4) as i8 - bias;
            }
        }
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            // d, [m], a 32-bit word of fifth bits (bit e for element e), then nibbles as Q4_0.
            d.s[0] = f16(&b[0..2]);
            let rest = if kind == GgmlType::Q5_1 {
                d.m[0] = -f16(&b[2..4]);
                &b[4..24]
            } else {
                d.m[0] = 0.0;
                &b[2..22]
            };
            let qh = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let qs = &rest[4..20];
            let bias = if kind == GgmlType::Q5_0 { 16 } else { 0 };
            for j in 0..16 {
                let h0 = ((qh >> j) & 1) as u8;
                let h1 = ((qh >> (j + 16)) & 1) as u8;
                d.q[j] = ((qs[j] & 0xF) | (h0 << 4)) as i8 - bias;
                d.q[j + 16] = ((qs[j] >> 4) | (h1 << 4)) as i8 - bias;
            }
        }
        GgmlType::Q8_0 => {
            d.s[0] = f16(&b[0..2]);
            d.m[0] = 0.0;
            for (q, &v) in d.q.iter_mut().zip(&b[2..34]) {
                *q = v as i8;
            }
        }
        GgmlType::Q8_K => {
            // d (f32), 256 signed bytes, then 16 sums of 16 (for dot products; unused here).
            d.s[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            d.m[0] = 0.0;
            for (q, &v) in d.q.iter_mut().zip(&b[4..260]) {
                *q = v as i8;
            }
        }
        GgmlType::Q2_K => {
            // 16 bytes of (4-bit scale | 4-bit minimum << 4), 64 bytes of 2-bit
            // values, d, dmin. Element 128h + 32s + l is bits 2s..2s+2 of byte 32h + l.
            let (scales, qs) = (&b[0..16], &b[16..80]);
            let (dd, dmin) = (f16(&b[80..82]), f16(&b[82..84]));
            for i in 0..16 {
                d.s[i] = dd * (scales[i] & 0xF) as f32;
                d.m[i] = dmin * (scales[i] >> 4) as f32;
            }
            for e in 0..QK_K {
                let (h, s, l) = (e / 128, (e % 128) / 32, e % 32);
                d.q[e] = ((qs[32 * h + l] >> (2 * s)) & 3) as i8;
            }
        }
        GgmlType::Q3_K => {
            // 32 bytes of high bits (bit e/32 of byte e%32 for element e), 64 bytes
            // of low 2-bit values laid out as Q2_K's, 12 bytes of 6-bit scales
            // (biased by 32), d. A clear high bit subtracts 4.
            let (hmask, qs, sc) = (&b[0..32], &b[32..96], &b[96..108]);
            let dd = f16(&b[108..110]);
            for i in 0..16 {
                let lo = (sc[i % 8] >> (4 * (i / 8))) & 0xF;
                let hi = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
                d.s[i] = dd * ((lo | (hi << 4)) as i8 - 32) as f32;
                d.m[i] = 0.0;
            }
            for e in 0..QK_K {
                let (h, s, l) = (e / 128, (e % 128) / 32, e % 32);
                let low = ((qs[32 * h + l] >> (2 * s)) & 3) as i8;
                let high = (hmask[e % 32] >> (e / 32)) & 1;
                d.q[e] = low - if high == 1 { 0 } else { 4 };
            }
        }
        GgmlType::Q4_K | GgmlType::Q5_K => {
            // d, dmin, 12 bytes of 6-bit scales and minima for eight sub-blocks of
            // 32, [Q5_K: 32 bytes of fifth bits, bit e/32 of byte e%32], 128 bytes
            // of nibbles: element 64g + 32h + l is nibble h of byte 32g + l.
            let (dd, dmin) = (f16(&b[0..2]), f16(&b[2..4]));
            let sc = &b[4..16];
            let (qh, qs) = if kind == GgmlType::Q5_K {
                (Some(&b[16..48]), &b[48..176])
            } else {
                (None, &b[16..144])
            };
            for j in 0..8 {
                let (s, m) = k_scale_min(sc, j);
                d.s[j] = dd * s as f32;
                d.m[j] = dmin * m as f32;
            }
            for e in 0..QK_K {
                let (g, h, l) = (e / 64, (e % 64) / 32, e % 32);
                let mut q = (qs[32 * g + l] >> (4 * h)) & 0xF;
                if let Some(qh) = qh {
                    q |= ((qh[l] >> (e / 32)) & 1) << 4;
                }
                d.q[e] = q as i8;
            }
        }
        GgmlType::Q6_K => {
            // 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 signed
            // 8-bit scales, d; values biased by 32. In each half h of 128, element
            // 128h + r takes nibble r/64 of byte 64h + r%64 and bits 2(r/32)..+2 of
            // byte 128 + 32h + r%32.
            let (ql, qh, sc) = (&b[0..128], &b[128..192], &b[192..208]);
            let dd = f16(&b[208..210]);
            for i in 0..16 {
                d.s[i] = dd * (sc[i] as i8) as f32;
                d.m[i] = 0.0;
            }
            for e in 0..QK_K {
                let (h, r) = (e / 128, e % 128);
                let lo = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0xF;
                let hi = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
                d.q[e] = (lo | (hi << 4)) as i8 - 32;
            }
        }
    }
}

/// Dequantizes `n` values of type `kind` from `raw`, exactly as llama.cpp's
/// reference code does; errors when `raw` is not `n` elements in whole blocks or
/// a value is not finite.
pub fn dequantize(kind: GgmlType, raw: &[u8], n: usize) -> Result<Vec<f32>, QuantError> {
    check_len(kind, raw, n)?;
    let mut out = Vec::with_capacity(n);
    match kind {
        GgmlType::F32 => out.extend(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        GgmlType::F16 => out.extend(raw.chunks_exact(2).map(f16)),
        GgmlType::BF16 => out.extend(
            raw.chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16)),
        ),
        _ => {
            let (per, bytes) = kind.block();
            let sub = kind.sub_block().unwrap_or(per);
            let mut d = Decoded::new();
            for b in raw.chunks_exact(bytes) {
                decode(kind, b, &mut d);
                out.extend((0..per).map(|e| d.s[e / sub] * d.q[e] as f32 - d.m[e / sub]));
            }
        }
    }
    if let Some(index) = out.iter().position(|v| !v.is_finite()) {
        return Err(QuantError::NonFinite {
            kind,
            index,
            block: index / kind.block().0,
            value: out[index],
        });
    }
    Ok(out)
}

/// 4-bit blocks in MatMulNBits' layout: per block of `block` elements, the
/// nibbles packed two per byte in element order (element 2j in the low nibble of
/// byte j); value = scale·(nibble − 8) + offset, the offset being 0 when `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Q4Blocks {
    pub block: usize,
    pub packed: Vec<u8>,
    pub scales: Vec<f32>,
    pub offsets: Option<Vec<f32>>,
}

/// The tensor's blocks as 4-bit MatMulNBits blocks, when they are exactly that:
/// Q4_0, Q4_1 and Q4_K (blocks of 32), Q2_K and Q3_K (blocks of 16). `None` for
/// other types, and for data that is not whole blocks.
pub fn repack_q4(kind: GgmlType, raw: &[u8]) -> Option<Q4Blocks> {
    let bias = kind.nibble_bias()?;
    let (per, bytes) = kind.block();
    let sub = kind.sub_block()?;
    if !raw.len().is_multiple_of(bytes) {
        return None;
    }
    let nb = raw.len() / bytes * (per / sub);
    let mut packed = Vec::with_capacity(nb * sub / 2);
    let mut scales = Vec::with_capacity(nb);
    let mut offsets = Vec::with_capacity(nb);
    let mut d = Decoded::new();
    for b in raw.chunks_exact(bytes) {
        decode(kind, b, &mut d);
        for i in 0..per / sub {
            // s·q − m = s·(nibble − 8) + (s·(8 − bias) − m)
            scales.push(d.s[i]);
            offsets.push(d.s[i] * (8 - bias) as f32 - d.m[i]);
            let q = &d.q[i * sub..(i + 1) * sub];
            packed.extend(
                q.chunks_exact(2)
                    .map(|p| (p[0] + bias) as u8 | (((p[1] + bias) as u8) << 4)),
            );
        }
    }
    // Q4_0 and Q3_K are symmetric: every offset is zero.
    let offsets = (!offsets.iter().all(|&o| o == 0.0)).then_some(offsets);
    Some(Q4Blocks {
        block: sub,
        packed,
        scales,
        offsets,
    })
}

/// Quantizes `w` (rows of whole blocks) to 4-bit blocks of `block` elements with a
/// float32 scale and minimum each: the minimum and maximum to start, then a few
/// rounds of least-squares refits of scale and minimum to the chosen integers,
/// keeping the fit with the smallest squared error.
pub fn requantize_q4(w: &[f32], block: usize) -> Q4Blocks {
    let nb = w.len() / block;
    let mut packed = Vec::with_capacity(nb * block / 2);
    let mut scales = Vec::with_capacity(nb);
    let mut offsets = Vec::with_capacity(nb);
    let mut q = vec![0u8; block];
    let mut best_q = vec![0u8; block];
    for x in w.chunks_exact(block) {
        let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // value = s·q + m, q in 0..=15
        let (mut s, mut m) = ((hi - lo) / 15.0, lo);
        let mut best = (f64::INFINITY, s, m);
        if s > 0.0 {
            for _ in 0..4 {
                let mut err = 0f64;
                for (qi, &v) in q.iter_mut().zip(x) {
                    *qi = ((v - m) / s).round().clamp(0.0, 15.0) as u8;
                    let e = (s * *qi as f32 + m - v) as f64;
                    err += e * e;
                }
                if err < best.0 {
                    best = (err, s, m);
                    best_q.copy_from_slice(&q);
                }
                // Least squares for (s, m) given q.
                let n = block as f64;
                let (mut sq, mut sqq, mut sx, mut sqx) = (0f64, 0f64, 0f64, 0f64);
                for (&qi, &v) in q.iter().zip(x) {
                    let (qf, vf) = (qi as f64, v as f64);
                    sq += qf;
                    sqq += qf * qf;
                    sx += vf;
                    sqx += qf * vf;
                }
                let det = n * sqq - sq * sq;
                if det <= 0.0 {
                    break;
                }
                let ns = (n * sqx - sq * sx) / det;
                if ns <= 0.0 {
                    break;
                }
                s = ns as f32;
                m = ((sx - ns * sq) / n) as f32;
            }
        } else {
            best_q.iter_mut().for_each(|v| *v = 0);
        }
        let (_, s, m) = best;
        scales.push(s);
        offsets.push(m + 8.0 * s);
        packed.extend(best_q.chunks_exact(2).map(|p| p[0] | (p[1] << 4)));
    }
    Q4Blocks {
        block,
        packed,
        scales,
        offsets: Some(offsets),
    }
}

impl Q4Blocks {
    /// The values the blocks stand for, as the graph computes them.
    pub fn values(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.packed.len() * 2);
        for (i, bytes) in self.packed.chunks_exact(self.block / 2).enumerate() {
            let (s, o) = (self.scales[i], self.offsets.as_ref().map_or(0.0, |o| o[i]));
            for &b in bytes {
                out.push(s * ((b & 0xF) as f32 - 8.0) + o);
                out.push(s * ((b >> 4) as f32 - 8.0) + o);
            }
        }
        out
    }
}

/// Squared-error totals of a requantization, summed over tensors.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ErrorStats {
    pub tensors: usize,
    pub elements: usize,
    pub sum_sq_err: f64,
    pub sum_sq: f64,
    pub max_abs_err: f32,
}

impl ErrorStats {
    pub fn add(&mut self, exact: &[f32], approx: &[f32]) {
        self.tensors += 1;
        self.elements += exact.len();
        for (&a, &b) in exact.iter().zip(approx) {
            let e = (b - a) as f64;
            self.sum_sq_err += e * e;
            self.sum_sq += a as f64 * a as f64;
            self.max_abs_err = self.max_abs_err.max((b - a).abs());
        }
    }
    /// RMS error over the weights' RMS.
    pub fn relative_rms(&self) -> f64 {
        if self.sum_sq > 0.0 {
            (self.sum_sq_err / self.sum_sq).sqrt()
        } else {
            0.0
        }
    }
    pub fn rms_err(&self) -> f64 {
        (self.sum_sq_err / self.elements.max(1) as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/fuzz.rs: an element count no file could hold overflowed
    /// the byte count (a panic in debug builds) instead of being refused.
    #[test]
    fn an_impossible_count_is_refused() {
        for kind in [GgmlType::F32, GgmlType::Q8_K] {
            let n = usize::MAX / 2 / kind.block().0 * kind.block().0;
            assert!(matches!(
                check_len(kind, &[0; 64], n),
                Err(QuantError::Length { .. })
            ));
            assert!(dequantize(kind, &[0; 64], n).is_err());
        }
    }

    fn f16b(x: f32) -> [u8; 2] {
        half::f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn block_sizes_and_ids() {
        for t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
            let (per, bytes) = t.block();
            assert!(per.is_multiple_of(t.sub_block().unwrap_or(1)), "{t}");
            assert!(bytes > 0);
        }
        // ggml's sizes (ggml-common.h static asserts)
        assert_eq!(GgmlType::Q2_K.block().1, 84);
        assert_eq!(GgmlType::Q3_K.block().1, 110);
        assert_eq!(GgmlType::Q4_K.block().1, 144);
        assert_eq!(GgmlType::Q5_K.block().1, 176);
        assert_eq!(GgmlType::Q6_K.block().1, 210);
        assert_eq!(GgmlType::Q8_K.block().1, 292);
        assert_eq!(GgmlType::id_name(20), Some("IQ4_NL"));
        assert_eq!(GgmlType::from_id(20), None);
    }

    #[test]
    fn q4_1_dequantizes_low_then_high_nibbles() {
        let mut b = vec![];
        b.extend(f16b(0.5));
        b.extend(f16b(-1.0));
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let v = dequantize(GgmlType::Q4_1, &b, 32).unwrap();
        assert_eq!(v[0], -1.0);
        assert_eq!(v[3], 0.5 * 3.0 - 1.0);
        assert_eq!(v[16], 0.5 * 15.0 - 1.0);
        let r = repack_q4(GgmlType::Q4_1, &b).unwrap();
        // Element 2j in the low nibble, 2j+1 in the high nibble.
        assert_eq!(r.packed[0], 1 << 4);
        assert_eq!(r.packed[8], 15 | (14 << 4));
        assert_eq!(r.values(), v);
    }

    #[test]
    fn q8_0_and_q4_0() {
        let mut b = vec![];
        b.extend(f16b(2.0));
        b.extend((0..32i8).map(|i| (i - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &b, 32).unwrap();
        assert_eq!(v[0], -32.0);
        assert_eq!(v[31], 30.0);
        let mut b = vec![];
        b.extend(f16b(0.25));
        b.extend([0x80u8; 16]);
        let v = dequantize(GgmlType::Q4_0, &b, 32).unwrap();
        assert_eq!(v[0], -2.0);
        assert_eq!(v[16], 0.0);
        let r = repack_q4(GgmlType::Q4_0, &b).unwrap();
        assert_eq!(r.offsets, None);
        assert_eq!(r.values(), v);
    }

    #[test]
    fn malformed_lengths_and_non_finite_scales_are_errors() {
        let e = dequantize(GgmlType::Q4_K, &[0; 143], 256).unwrap_err();
        assert!(matches!(e, QuantError::Length { want: 144, .. }), "{e}");
        let e = dequantize(GgmlType::Q6_K, &[0; 210], 255).unwrap_err();
        assert!(matches!(e, QuantError::PartialBlock { .. }), "{e}");
        let mut b = vec![0u8; 2 * 22];
        b[22..24].copy_from_slice(&f16b(f32::INFINITY));
        b[30] = 1;
        let e = dequantize(GgmlType::Q5_0, &b, 64).unwrap_err();
        assert!(matches!(e, QuantError::NonFinite { block: 1, .. }), "{e}");
        assert!(e.to_string().contains("Q5_0"), "{e}");
        assert_eq!(repack_q4(GgmlType::Q4_K, &[0; 143]), None);
    }

    #[test]
    fn k_quant_4_bit_repacks_give_the_dequantized_values() {
        // Pseudo-random bytes: every bit pattern of scales and values is a valid block.
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut bytes = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        };
        for kind in [GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K] {
            let (_, size) = kind.block();
            let mut raw = bytes(3 * size);
            // Finite, moderate f16 scales.
            let at: &[usize] = match kind {
                GgmlType::Q2_K => &[80, 82],
                GgmlType::Q3_K => &[108],
                _ => &[0, 2],
            };
            for blk in 0..3 {
                for &a in at {
                    raw[blk * size + a..blk * size + a + 2]
                        .copy_from_slice(&f16b(0.01 * (a as f32 + 1.0)));
                }
            }
            let v = dequantize(kind, &raw, 768).unwrap();
            let r = repack_q4(kind, &raw).unwrap();
            assert_eq!(r.block, kind.sub_block().unwrap());
            let got = r.values();
            for (a, b) in v.iter().zip(&got) {
                assert!(
                    (a - b).abs() <= 1e-6 * a.abs().max(1e-3),
                    "{kind}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn requantization_is_close_and_exact_on_4_bit_grids() {
        // Values already on a 16-level grid come back exactly (up to rounding).
        let w: Vec<f32> = (0..64).map(|i| 0.5 * (i % 16) as f32 - 1.0).collect();
        let r = requantize_q4(&w, 32);
        for (a, b) in w.iter().zip(r.values()) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        // A smooth ramp: error at most half a step.
        let w: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
        let r = requantize_q4(&w, 32);
        let step = (2.0f32) / 15.0;
        for (a, b) in w.iter().zip(r.values()) {
            assert!((a - b).abs() <= step * 0.5 + 1e-6, "{a} {b}");
        }
        // A constant block.
        let r = requantize_q4(&[0.25; 16], 16);
        assert_eq!(r.values(), vec![0.25; 16]);
    }
}
