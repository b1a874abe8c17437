//! The pieces of a scoring pass: the KV caches passes leave, what each row feeds
//! after one, the past tensors gathered for a pass, and its scores taken behind it.

use super::logprob::credit;
use super::{ort_err, Batch};
use crate::engine::model::ModelDir;
use crate::engine::EngineError;
use ort::value::{DynValue, Tensor};

/// Shared prompt prefixes shorter than this are not worth a pass of their own.
pub(super) const MIN_SHARED_PREFIX: usize = 8;

/// Splits `members` (prompt indices, sorted by their tokens) into runs of consecutive
/// prompts that share at least `depth + MIN_SHARED_PREFIX` leading tokens, each with
/// the number its prompts all share.
pub(super) fn shared_runs(
    reqs: &[(Vec<u32>, Vec<Vec<u32>>)],
    members: &[usize],
    depth: usize,
) -> Vec<(Vec<usize>, usize)> {
    let common = |a: usize, b: usize| {
        let (x, y) = (&reqs[a].0, &reqs[b].0);
        x.iter().zip(y).take_while(|(p, q)| p == q).count()
    };
    let mut out: Vec<(Vec<usize>, usize)> = vec![];
    for (k, &m) in members.iter().enumerate() {
        let shared = if k == 0 { 0 } else { common(members[k - 1], m) };
        match out.last_mut() {
            Some((run, all)) if shared >= depth + MIN_SHARED_PREFIX => {
                run.push(m);
                *all = (*all).min(shared);
            }
            _ => out.push((vec![m], usize::MAX)),
        }
    }
    out
}

/// The caches of one forward pass: row i attends to the columns where its mask is 1,
/// and its next token takes position `next[i]`.
pub(super) struct Cache {
    /// `[rows, kv, width, hd]` per layer, keys and values.
    pub(super) kv: Vec<DynValue>,
    pub(super) width: usize,
    /// `rows × width`.
    pub(super) mask: Vec<i64>,
    pub(super) next: Vec<i64>,
}

/// Tokens to feed after one cache row, and what to score: a pick is (position among
/// `tokens`, the token it predicts, request, continuation).
pub(super) struct Feed {
    pub(super) from: (usize, usize),
    pub(super) tokens: Vec<u32>,
    pub(super) picks: Vec<(usize, u32, usize, usize)>,
}

impl Cache {
    /// Nothing yet: one row, no columns.
    pub(super) fn empty(model: &ModelDir) -> Result<Cache, EngineError> {
        let (kv, hd) = (model.num_kv_heads, model.head_dim);
        let kv = (0..2 * model.num_layers)
            .map(|_| {
                Tensor::from_array(([1, kv, 0, hd], Vec::<f32>::new()))
                    .map(|t| t.into_dyn())
                    .map_err(ort_err)
            })
            .collect::<Result<_, _>>()?;
        Ok(Cache {
            kv,
            width: 0,
            mask: vec![],
            next: vec![0],
        })
    }
}

impl Feed {
    /// Continuation `c` of request `r` from its token `k` on, after cache row `from`
    /// (which holds the tokens before `k`): all but its last token are fed, and each
    /// predicts the next.
    pub(super) fn of(cont: &[u32], from: (usize, usize), k: usize, r: usize, c: usize) -> Feed {
        Feed {
            from,
            tokens: cont[k..cont.len() - 1].to_vec(),
            picks: (k + 1..cont.len())
                .map(|j| (j - k - 1, cont[j], r, c))
                .collect(),
        }
    }
}

/// Past tensors for a batch whose row i continues cache row `rows[i]` = (cache, row):
/// each row's columns first, zeros (masked) after, up to `width`.
pub(super) fn gather(
    caches: &[Cache],
    rows: &[(usize, usize)],
    width: usize,
) -> Result<Vec<DynValue>, EngineError> {
    let layers = caches.first().map_or(0, |c| c.kv.len());
    let mut out = Vec::with_capacity(layers);
    for l in 0..layers {
        let mut dims = [rows.len(), 0, width, 0];
        let mut data = vec![];
        for &(ci, row) in rows {
            let src = &caches[ci];
            let (shape, v) = src.kv[l].try_extract_tensor::<f32>().map_err(ort_err)?;
            let (kv, hd) = (shape[1] as usize, shape[3] as usize);
            if data.is_empty() {
                (dims[1], dims[3]) = (kv, hd);
                data.reserve_exact(rows.len() * kv * width * hd);
            }
            // Written in order, so that only the padding is zeroed.
            for h in 0..kv {
                let s = ((row * kv + h) * src.width) * hd;
                data.extend_from_slice(&v[s..s + src.width * hd]);
                data.resize(data.len() + (width - src.width) * hd, 0.0);
            }
        }
        out.push(
            Tensor::from_array((dims, data))
                .map_err(ort_err)?
                .into_dyn(),
        );
    }
    Ok(out)
}

/// The widest source cache and the most new tokens among `chunk` (feeds).
pub(super) fn pass_shape(caches: &[Cache], feeds: &[Feed], chunk: &[usize]) -> (usize, usize) {
    let w = chunk
        .iter()
        .map(|&i| caches[feeds[i].from.0].width)
        .max()
        .unwrap_or(0);
    let lc = chunk
        .iter()
        .map(|&i| feeds[i].tokens.len())
        .max()
        .unwrap_or(0);
    (w, lc)
}

/// The inputs of one pass feeding `chunk` (feeds) after their source cache rows, left-
/// aligned: every row's last token is in the last column, so scoring only last tokens
/// (prompts) needs the logits of one position per row. Also returns the width of the
/// past and the first column any row scores.
pub(super) fn pass_batch(
    caches: &[Cache],
    feeds: &[Feed],
    chunk: &[usize],
    pad: i64,
) -> (Batch, usize, usize) {
    let (w, lc) = pass_shape(caches, feeds, chunk);
    let (n, t) = (chunk.len(), w + lc);
    let off = |f: usize| lc - feeds[f].tokens.len();
    let mut cb = Batch {
        rows: n,
        s: lc,
        ids: vec![pad; n * lc],
        mask: vec![0; n * t],
        pos: vec![0; n * lc],
    };
    for (i, &f) in chunk.iter().enumerate() {
        let (ci, row) = feeds[f].from;
        let src = &caches[ci];
        cb.mask[i * t..i * t + src.width]
            .copy_from_slice(&src.mask[row * src.width..(row + 1) * src.width]);
        for (j, &tok) in feeds[f].tokens.iter().enumerate() {
            let col = off(f) + j;
            cb.ids[i * lc + col] = tok as i64;
            cb.mask[i * t + w + col] = 1;
            cb.pos[i * lc + col] = src.next[row] + j as i64;
        }
    }
    let first_scored = chunk
        .iter()
        .flat_map(|&f| feeds[f].picks.iter().map(move |p| off(f) + p.0))
        .min()
        .unwrap_or(lc - 1);
    (cb, w, first_scored)
}

/// Log-probabilities of the scored positions, in order.
pub(super) type Scores = Result<Vec<(f64, bool)>, EngineError>;

/// The log-probabilities of the last pass, taken on a thread while the next pass runs:
/// they read the logits back from memory, which the matrix products leave mostly idle
/// (median 11.85 s against 11.99 s on the plain comparison task).
#[derive(Default)]
pub(super) struct Behind<'s> {
    scoring: Option<std::thread::ScopedJoinHandle<'s, Scores>>,
    /// The (request, continuation) of each score.
    to: Vec<(usize, usize)>,
}

impl<'s> Behind<'s> {
    /// Waits for the pending scores and adds them to `results`.
    pub(super) fn settle(&mut self, results: &mut [Vec<(f64, bool)>]) -> Result<(), EngineError> {
        let Some(h) = self.scoring.take() else {
            return Ok(());
        };
        let scored = h.join().expect("scoring thread panicked")?;
        credit(results, self.to.iter().copied(), scored);
        Ok(())
    }

    /// Settles what is pending, then leaves `scoring` pending.
    pub(super) fn next(
        &mut self,
        results: &mut [Vec<(f64, bool)>],
        scoring: std::thread::ScopedJoinHandle<'s, Scores>,
        to: Vec<(usize, usize)>,
    ) -> Result<(), EngineError> {
        self.settle(results)?;
        (self.scoring, self.to) = (Some(scoring), to);
        Ok(())
    }
}
