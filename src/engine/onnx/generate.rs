//! Greedy decoding with a KV cache, batched across requests.

use super::logprob::argmax;
use super::{ort_err, Batch};
use crate::engine::{EngineError, FinishReason, GenerateRequest, Generation};
use ort::value::DynValue;

impl super::Runner<'_> {
    pub(super) fn generate_group(
        &mut self,
        prompts: &[Vec<u32>],
        reqs: &[&GenerateRequest],
    ) -> Result<Vec<Generation>, EngineError> {
        let pad = self.model.pad_id as i64;
        let vocab = self.model.vocab_size;
        let n = prompts.len();
        let lp = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let mut seqs: Vec<Vec<i64>> = prompts
            .iter()
            .map(|p| p.iter().map(|&t| t as i64).collect())
            .collect();
        let mut generated: Vec<Vec<u32>> = vec![vec![]; n];
        let mut done: Vec<Option<(FinishReason, String)>> = vec![None; n];
        let max_new = reqs.iter().map(|r| r.max_tokens).max().unwrap_or(0);
        // Left-padded prefill; the mask grows by one column per step.
        let mut mask: Vec<Vec<i64>> = prompts
            .iter()
            .map(|p| [vec![0; lp - p.len()], vec![1; p.len()]].concat())
            .collect();
        let mut past: Option<Vec<DynValue>> = None;
        for (i, r) in reqs.iter().enumerate() {
            if r.max_tokens == 0 {
                done[i] = Some((FinishReason::Length, String::new()));
            }
        }
        for step in 0..max_new {
            if done.iter().all(Option::is_some) {
                break;
            }
            let b = if self.io.kv_cache && step > 0 {
                Batch {
                    rows: n,
                    s: 1,
                    ids: seqs.iter().map(|s| *s.last().unwrap()).collect(),
                    mask: mask.iter().flatten().copied().collect(),
                    pos: seqs.iter().map(|s| s.len() as i64 - 1).collect(),
                }
            } else {
                Batch::left_padded(&seqs, pad)
            };
            let out = self.forward(&b, if self.io.kv_cache { past.take() } else { None }, 1)?;
            let next: Vec<u32> = {
                let (_, logits) = out.logits.try_extract_tensor::<f32>().map_err(ort_err)?;
                (0..n)
                    .map(|i| argmax(&logits[(i * out.kept + out.kept - 1) * vocab..][..vocab]))
                    .collect()
            };
            past = Some(out.present);
            for i in 0..n {
                let tok = if done[i].is_some() {
                    self.model.pad_id
                } else {
                    next[i]
                };
                seqs[i].push(tok as i64);
                mask[i].push(1);
                if done[i].is_some() {
                    continue;
                }
                if self.model.eos_ids.contains(&tok) {
                    done[i] = Some((FinishReason::Eos, self.model.decode(&generated[i])));
                    continue;
                }
                generated[i].push(tok);
                let full = generated[i].len() >= reqs[i].max_tokens;
                let stops = || reqs[i].stop.iter().filter(|s| !s.is_empty());
                // Decoding the whole text again each step is quadratic in its length:
                // only stop strings need it before the end.
                if stops().next().is_none() && !full {
                    continue;
                }
                let text = self.model.decode(&generated[i]);
                if let Some(cut) = stops().filter_map(|s| text.find(s.as_str())).min() {
                    done[i] = Some((FinishReason::Stop, text[..cut].to_string()));
                } else if full {
                    done[i] = Some((FinishReason::Length, text));
                }
            }
            if !self.io.kv_cache {
                // Recomputation: pad columns only exist for the current step.
                mask.iter_mut().for_each(|m| m.clear());
            }
        }
        Ok(done
            .into_iter()
            .zip(generated)
            .map(|(d, g)| {
                let (finish, text) = d.unwrap_or((FinishReason::Length, String::new()));
                Generation {
                    text,
                    n_tokens: g.len(),
                    finish,
                }
            })
            .collect())
    }
}
