//! Log-likelihood scoring: prompts once (as a tree of shared prefixes), then their
//! continuations from the prompts' caches, in passes of least cost.

use super::logprob::{add_logprobs, token_logprob};
use super::passes::{
    gather, pass_batch, pass_shape, shared_runs, Behind, Cache, Feed, MIN_SHARED_PREFIX,
};
use super::plan::{pass_cost, runs};
use super::{ort_err, Batch};
use crate::engine::EngineError;

impl super::Runner<'_> {
    pub(super) fn loglik_group(
        &mut self,
        reqs: &[(Vec<u32>, Vec<Vec<u32>>)],
    ) -> Result<Vec<Vec<(f64, bool)>>, EngineError> {
        if !self.io.kv_cache || !self.opts.share_prompt {
            return self.loglik_recompute(reqs);
        }
        let mut results: Vec<Vec<(f64, bool)>> =
            reqs.iter().map(|r| vec![(0.0, true); r.1.len()]).collect();
        let mut caches = vec![Cache::empty(self.model)?];
        let prompt_at = self.feed_prompts(reqs, &mut caches, &mut results)?;
        self.feed_continuations(reqs, &prompt_at, &mut caches, &mut results)?;
        Ok(results)
    }

    /// Feeds every prompt once and scores its continuations' first tokens; returns the
    /// (cache, row) where each prompt ended.
    pub(super) fn feed_prompts(
        &mut self,
        reqs: &[(Vec<u32>, Vec<Vec<u32>>)],
        caches: &mut Vec<Cache>,
        results: &mut [Vec<(f64, bool)>],
    ) -> Result<Vec<(usize, usize)>, EngineError> {
        // Prompts as a tree: prompts that share at least MIN_SHARED_PREFIX tokens
        // beyond the node they hang from (a system turn, a persona, a context
        // sentence) feed them once, as a stem; level by level, then each prompt's own
        // tokens, whose last position scores its continuations' first tokens.
        let mut order: Vec<usize> = (0..reqs.len()).collect();
        order.sort_by(|&a, &b| reqs[a].0.cmp(&reqs[b].0));
        let mut level = vec![(order, 0, (0, 0))];
        let (mut own, mut own_req) = (vec![], vec![]);
        while !level.is_empty() {
            let (mut stems, mut nodes) = (vec![], vec![]);
            for (members, depth, at) in level {
                for (run, shared) in shared_runs(reqs, &members, depth) {
                    // Each prompt keeps at least its last token for its own row.
                    let most = run.iter().map(|&m| reqs[m].0.len()).min().unwrap_or(0) - 1;
                    let e = shared.min(most);
                    if run.len() > 1 && e >= depth + MIN_SHARED_PREFIX {
                        stems.push(Feed {
                            from: at,
                            tokens: reqs[run[0]].0[depth..e].to_vec(),
                            picks: vec![],
                        });
                        nodes.push((run, e));
                        continue;
                    }
                    for m in run {
                        let n = reqs[m].0.len() - depth;
                        own.push(Feed {
                            from: at,
                            tokens: reqs[m].0[depth..].to_vec(),
                            picks: reqs[m]
                                .1
                                .iter()
                                .enumerate()
                                .map(|(c, cont)| (n - 1, cont[0], m, c))
                                .collect(),
                        });
                        own_req.push(m);
                    }
                }
            }
            let stem_at = self.extend(caches, &stems, true, results)?;
            level = nodes
                .into_iter()
                .zip(stem_at)
                .map(|((run, e), at)| (run, e, at))
                .collect();
        }
        let own_at = self.extend(caches, &own, true, results)?;
        let mut prompt_at = vec![(0, 0); reqs.len()];
        for (k, &m) in own_req.iter().enumerate() {
            prompt_at[m] = own_at[k];
        }
        Ok(prompt_at)
    }

    /// Feeds the continuations of two or more tokens after their prompts, scoring the rest
    /// of their tokens.
    pub(super) fn feed_continuations(
        &mut self,
        reqs: &[(Vec<u32>, Vec<Vec<u32>>)],
        prompt_at: &[(usize, usize)],
        caches: &mut Vec<Cache>,
        results: &mut [Vec<(f64, bool)>],
    ) -> Result<(), EngineError> {
        // Continuations of two or more tokens go on from their prompt's cache. Those of
        // a prompt that begin with the same token share a stem, their longest common
        // prefix (each keeping a token of its own): the stem is fed once and they go on
        // from its cache. On TruthfulQA this feeds a fifth fewer continuation tokens.
        let mut stems = vec![];
        let mut members = vec![];
        let mut rest = vec![];
        for (r, (_, conts)) in reqs.iter().enumerate() {
            let mut by_first: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for (c, cont) in conts.iter().enumerate().filter(|(_, c)| c.len() > 1) {
                let key = if self.opts.share_stems {
                    cont[0]
                } else {
                    c as u32
                };
                by_first.entry(key).or_default().push(c);
            }
            for cs in by_first.into_values() {
                if cs.len() == 1 {
                    let cont = &conts[cs[0]];
                    rest.push(Feed::of(&cont[..], prompt_at[r], 0, r, cs[0]));
                    continue;
                }
                let first = &conts[cs[0]];
                let most = cs.iter().map(|&c| conts[c].len()).min().unwrap_or(1) - 1;
                let k = (1..most)
                    .take_while(|&j| cs.iter().all(|&c| conts[c][j] == first[j]))
                    .count()
                    + 1;
                // The stem's positions predict its own next token (the same for all)
                // and, at its last, each member's first token after it.
                let mut picks: Vec<_> = cs
                    .iter()
                    .flat_map(|&c| (1..k).map(move |j| (j - 1, first[j], r, c)))
                    .collect();
                picks.extend(cs.iter().map(|&c| (k - 1, conts[c][k], r, c)));
                for &c in &cs {
                    if conts[c].len() > k + 1 {
                        members.push((stems.len(), r, c, k));
                    }
                }
                stems.push(Feed {
                    from: prompt_at[r],
                    tokens: first[..k].to_vec(),
                    picks,
                });
            }
        }
        let stem_at = self.extend(caches, &stems, true, results)?;
        for (stem, r, c, k) in members {
            rest.push(Feed::of(&reqs[r].1[c], stem_at[stem], k, r, c));
        }
        self.extend(caches, &rest, false, results)?;
        Ok(())
    }

    /// Feeds each row's tokens after its source cache row, in passes of least cost
    /// (rows sorted by length, similar lengths together), and adds the log-probabilities
    /// of its picks to `results`. With `keep`, each pass's caches join `caches` and the
    /// (cache, row) each feed ended in is returned.
    pub(super) fn extend(
        &mut self,
        caches: &mut Vec<Cache>,
        feeds: &[Feed],
        keep: bool,
        results: &mut [Vec<(f64, bool)>],
    ) -> Result<Vec<(usize, usize)>, EngineError> {
        let pad = self.model.pad_id as i64;
        let mut order: Vec<usize> = (0..feeds.len()).collect();
        if self.opts.sort_by_length {
            order.sort_by_key(|&i| std::cmp::Reverse(feeds[i].tokens.len()));
        }
        // Each row carries a copy of its source cache: that counts against the budget.
        let chunks: Vec<Vec<usize>> = runs(&order, |chunk| {
            let (w, lc) = pass_shape(caches, feeds, chunk);
            (chunk.len() * (w + lc) <= self.opts.max_batch_tokens)
                .then(|| pass_cost(self.opts, chunk.len(), lc))
        })
        .into_iter()
        .map(<[usize]>::to_vec)
        .collect();
        let mut at = vec![(0, 0); feeds.len()];
        let vocab = self.model.vocab_size;
        std::thread::scope(|scope| -> Result<(), EngineError> {
            let mut behind = Behind::default();
            for chunk in chunks {
                let (cb, w, first_scored) = pass_batch(caches, feeds, &chunk, pad);
                let lc = cb.s;
                let off = |f: usize| lc - feeds[f].tokens.len();
                let from: Vec<(usize, usize)> = chunk.iter().map(|&f| feeds[f].from).collect();
                let past = gather(caches, &from, w)?;
                let out = self.forward(&cb, Some(past), lc - first_scored)?;
                let skipped = lc - out.kept;
                let picks: Vec<(usize, u32)> = chunk
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &f)| {
                        feeds[f]
                            .picks
                            .iter()
                            .map(move |&(j, tok, _, _)| (i * out.kept + off(f) + j - skipped, tok))
                    })
                    .collect();
                let to: Vec<(usize, usize)> = chunk
                    .iter()
                    .flat_map(|&f| feeds[f].picks.iter().map(|&(_, _, r, c)| (r, c)))
                    .collect();
                let logits = out.logits;
                let scoring = scope.spawn(move || {
                    let (_, logits) = logits.try_extract_tensor::<f32>().map_err(ort_err)?;
                    Ok(picks
                        .iter()
                        .map(|&(row, tok)| token_logprob(&logits[row * vocab..][..vocab], tok))
                        .collect())
                });
                behind.next(results, scoring, to)?;
                if keep {
                    let next = chunk
                        .iter()
                        .map(|&f| {
                            let (ci, row) = feeds[f].from;
                            caches[ci].next[row] + feeds[f].tokens.len() as i64
                        })
                        .collect();
                    for (i, &f) in chunk.iter().enumerate() {
                        at[f] = (caches.len(), i);
                    }
                    caches.push(Cache {
                        kv: out.present,
                        width: cb.mask.len() / cb.rows,
                        mask: cb.mask,
                        next,
                    });
                }
            }
            behind.settle(results)
        })?;
        Ok(at)
    }

    /// For graphs without KV I/O: each (prompt, continuation) pair is a row.
    pub(super) fn loglik_recompute(
        &mut self,
        reqs: &[(Vec<u32>, Vec<Vec<u32>>)],
    ) -> Result<Vec<Vec<(f64, bool)>>, EngineError> {
        let pad = self.model.pad_id as i64;
        let vocab = self.model.vocab_size;
        let pairs: Vec<(usize, usize)> = reqs
            .iter()
            .enumerate()
            .flat_map(|(r, (_, cs))| (0..cs.len()).map(move |c| (r, c)))
            .collect();
        let seq = |&(r, c): &(usize, usize)| {
            let cont = &reqs[r].1[c];
            let mut s = reqs[r].0.clone();
            s.extend_from_slice(&cont[..cont.len().saturating_sub(1)]);
            s
        };
        let seqs: Vec<Vec<u32>> = pairs.iter().map(seq).collect();
        let keep = pairs
            .iter()
            .map(|&(r, c)| reqs[r].1[c].len())
            .max()
            .unwrap_or(1)
            .max(1);
        let b = Batch::left_padded(&seqs, pad);
        let out = self.forward(&b, None, keep)?;
        let (_, logits) = out.logits.try_extract_tensor::<f32>().map_err(ort_err)?;
        let mut results: Vec<Vec<(f64, bool)>> =
            reqs.iter().map(|r| vec![(0.0, true); r.1.len()]).collect();
        // The continuation's tokens are predicted by the last `len` kept positions.
        let picks: Vec<_> = pairs
            .iter()
            .enumerate()
            .flat_map(|(i, &(r, c))| {
                let cont = &reqs[r].1[c];
                let first = i * out.kept + out.kept - cont.len();
                cont.iter()
                    .enumerate()
                    .map(move |(j, &t)| (first + j, t, r, c))
            })
            .collect();
        add_logprobs(logits, vocab, &picks, &mut results, self.opts.threads);
        Ok(results)
    }
}
