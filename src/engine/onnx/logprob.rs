//! Token log-probabilities from rows of logits, and greedy picks.

pub(super) fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if x > row[best] {
            best = i;
        }
    }
    best as u32
}

/// Adds each pick's log-probability to its continuation's score: a pick is (row of
/// `logits`, token, request, continuation). The rows are shared out over `threads`
/// threads: between forward passes the session's cores are otherwise idle, and on
/// the comparison task this took a second of single-threaded work.
pub(super) fn add_logprobs(
    logits: &[f32],
    vocab: usize,
    picks: &[(usize, u32, usize, usize)],
    results: &mut [Vec<(f64, bool)>],
    threads: usize,
) {
    let per = picks.len().div_ceil(threads.max(1)).max(1);
    let scored: Vec<(f64, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = picks
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(row, tok, _, _)| {
                            token_logprob(&logits[row * vocab..][..vocab], tok)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("scoring thread panicked"))
            .collect()
    });
    credit(results, picks.iter().map(|&(_, _, r, c)| (r, c)), scored);
}

/// Adds each score to its (request, continuation): log-probabilities sum, and a
/// continuation is greedy only if every one of its tokens is.
pub(super) fn credit(
    results: &mut [Vec<(f64, bool)>],
    to: impl Iterator<Item = (usize, usize)>,
    scored: Vec<(f64, bool)>,
) {
    for ((r, c), (l, g)) in to.zip(scored) {
        results[r][c].0 += l;
        results[r][c].1 &= g;
    }
}

/// log softmax(row)[tok], and whether tok is the argmax.
///
/// Runs once per scored position over the whole vocabulary, so it is written to
/// vectorise: eight lanes, a branch-free exp, f32 sums flushed to f64 every 256
/// elements (relative error of the sum below 1e-5 at worst, about 1e-7 typically).
/// On x86-64 with AVX2 and FMA (chosen at run time), the sum of exponentials is
/// written with intrinsics: the compiler left the portable loop mostly scalar.
pub(super) fn token_logprob(row: &[f32], tok: u32) -> (f64, bool) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { token_logprob_avx2(row, tok) };
    }
    token_logprob_any(row, tok)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn token_logprob_avx2(row: &[f32], tok: u32) -> (f64, bool) {
    use std::arch::x86_64::*;
    let n = row.len() / 8 * 8;
    let p = row.as_ptr();
    let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
    for i in (0..n).step_by(8) {
        m = _mm256_max_ps(m, _mm256_loadu_ps(p.add(i)));
    }
    let mut lanes = [0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), m);
    let max = row[n..]
        .iter()
        .chain(&lanes)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let vmax = _mm256_set1_ps(max);
    let mut sum = 0f64;
    // Flushed to f64 every 256 elements, as in the portable version.
    for block in (0..n).step_by(256) {
        let mut acc = _mm256_setzero_ps();
        for i in (block..(block + 256).min(n)).step_by(8) {
            let x = _mm256_sub_ps(_mm256_loadu_ps(p.add(i)), vmax);
            acc = _mm256_add_ps(acc, exp256_nonpositive(x));
        }
        _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
        sum += lanes.iter().map(|&a| a as f64).sum::<f64>();
    }
    sum += row[n..]
        .iter()
        .map(|&x| ((x - max) as f64).exp())
        .sum::<f64>();
    let x = row[tok as usize];
    ((x - max) as f64 - sum.ln(), x >= max)
}

/// `exp_nonpositive` on eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn exp256_nonpositive(x: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    let x = _mm256_max_ps(x, _mm256_set1_ps(-87.0));
    let magic = _mm256_set1_ps(12_582_912.0);
    let t = _mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), magic);
    let n = _mm256_sub_ps(t, magic);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut q = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(c));
    }
    let e = _mm256_add_ps(
        _mm256_fmadd_ps(_mm256_mul_ps(q, r), r, r),
        _mm256_set1_ps(1.0),
    );
    let k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B40_0000));
    let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(k, _mm256_set1_epi32(127)));
    _mm256_mul_ps(e, _mm256_castsi256_ps(scale))
}

#[inline(always)]
pub(super) fn token_logprob_any(row: &[f32], tok: u32) -> (f64, bool) {
    const L: usize = 8;
    let mut m = [f32::NEG_INFINITY; L];
    let chunks = row.chunks_exact(L);
    let tail = chunks.remainder();
    for c in chunks.clone() {
        for k in 0..L {
            m[k] = if c[k] > m[k] { c[k] } else { m[k] };
        }
    }
    let max = tail
        .iter()
        .chain(&m)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f64;
    let mut blocks = row.chunks(256);
    for block in blocks.by_ref() {
        let mut acc = [0f32; L];
        let inner = block.chunks_exact(L);
        let rest = inner.remainder();
        for c in inner {
            for k in 0..L {
                acc[k] += exp_nonpositive(c[k] - max);
            }
        }
        sum += acc.iter().map(|&a| a as f64).sum::<f64>();
        sum += rest.iter().map(|&x| ((x - max) as f64).exp()).sum::<f64>();
    }
    let x = row[tok as usize];
    ((x - max) as f64 - sum.ln(), x >= max)
}

/// e^x for x <= 0 (Cephes' expf polynomial after a Cody–Waite reduction; relative
/// error about 1e-7), branch-free so the loop above vectorises. Below -87 it
/// returns about 1.6e-38 instead of underflowing, which a sum of at least one
/// e^0 = 1 cannot notice.
#[inline(always)]
pub(super) fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let k = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    e * f32::from_bits(((k + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::{exp_nonpositive, token_logprob, token_logprob_any};

    #[test]
    fn fast_exp_matches_std() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let (a, b) = (exp_nonpositive(x) as f64, (x as f64).exp());
            worst = worst.max(((a - b) / b).abs());
        }
        assert!(worst < 5e-7, "{worst}");
    }

    #[test]
    fn token_logprob_matches_a_plain_f64_log_softmax() {
        // A vocabulary-sized row with a wide spread of logits, and a short odd one.
        for (n, scale) in [(49_152usize, 30.0f32), (37, 3.0)] {
            let row: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * scale)
                .collect();
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = max
                + row
                    .iter()
                    .map(|&x| (x as f64 - max).exp())
                    .sum::<f64>()
                    .ln();
            for tok in [0, 1, n / 2, n - 1] {
                // The build for this CPU and the portable one.
                for f in [token_logprob, token_logprob_any] {
                    let (lp, _) = f(&row, tok as u32);
                    assert!((lp - (row[tok] as f64 - lse)).abs() < 1e-5, "{n} {tok}");
                }
            }
        }
    }
}
