//! The ONNX Runtime backend: one session per worker, batched left-padded
//! forward passes, prompt KV caches shared across continuations.

use super::model::ModelDir;
use super::{
    ContinuationScore, Engine, EngineError, GenerateRequest, Generation, LoglikRequest, TokenUsage,
};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};
use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

mod generate;
mod loglik;
mod logprob;
mod passes;
mod plan;

use plan::{groups, runs};

/// Engine settings. None of them changes the numbers a model produces beyond
/// float rounding; all of them change speed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EngineOptions {
    /// Sessions run in parallel (each on its own thread, with its own weights' working set).
    pub workers: usize,
    /// ONNX Runtime intra-op threads per session.
    pub threads: usize,
    /// Upper bound on padded tokens in one forward pass.
    pub max_batch_tokens: usize,
    /// Upper bound on sequences decoded together.
    pub max_generate_batch: usize,
    /// Score continuations from their prompt's KV cache (off: every (prompt,
    /// continuation) pair is its own sequence, as lm-evaluation-harness runs them).
    pub share_prompt: bool,
    /// Feed the first tokens that several continuations of a prompt share once (off:
    /// each continuation feeds all its tokens after the prompt).
    pub share_stems: bool,
    /// Batch requests of similar length together (off: in the order given).
    pub sort_by_length: bool,
    /// Ask graphs that can for logits only at the scored positions (off: all positions).
    pub keep_logits: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        // One session using every core.
        EngineOptions {
            workers: 1,
            threads: cores,
            max_batch_tokens: 2048,
            max_generate_batch: 8,
            share_prompt: true,
            share_stems: true,
            sort_by_length: true,
            keep_logits: true,
        }
    }
}

impl EngineOptions {
    /// The defaults, overridden by `CANDOR_WORKERS`, `CANDOR_THREADS` and
    /// `CANDOR_BATCH_TOKENS` when set. One session with both cores measured 1.5× the
    /// throughput of two single-threaded sessions on a 2-core machine (360 cases of the
    /// facts suite: 37 s against 57 s), so several workers are opt-in.
    pub fn from_env() -> Result<Self, EngineError> {
        let mut o = EngineOptions::default();
        for (var, field) in [
            ("CANDOR_WORKERS", &mut o.workers),
            ("CANDOR_THREADS", &mut o.threads),
            ("CANDOR_BATCH_TOKENS", &mut o.max_batch_tokens),
        ] {
            if let Ok(v) = std::env::var(var) {
                *field = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        EngineError::Request(format!("{var}={v:?}: expected a positive integer"))
                    })?;
            }
        }
        Ok(o)
    }
}

fn ort_err<E: std::fmt::Display>(e: E) -> EngineError {
    EngineError::Ort(e.to_string())
}

struct Worker {
    session: Session,
}

/// How the graph's inputs are laid out, checked once at load.
#[derive(Clone, Debug)]
struct Io {
    kv_cache: bool,
    position_ids: bool,
    logits_to_keep: bool,
}

pub struct OrtEngine {
    pub model: ModelDir,
    workers: Vec<Worker>,
    _prepacked: ort::session::builder::PrepackedWeights,
    io: Io,
    opts: EngineOptions,
    name: String,
    fingerprint: std::sync::OnceLock<String>,
    /// Hashes the model files while ONNX Runtime loads them (0.35 s of the f32 model's
    /// 540 MB that would otherwise come after).
    hashing: std::sync::Mutex<Option<std::thread::JoinHandle<String>>>,
    usage: Counters,
}

/// Token counts, shared by the worker threads.
#[derive(Default)]
struct Counters {
    computed: AtomicU64,
    padding: AtomicU64,
    logits: AtomicU64,
    from_scratch: AtomicU64,
}

/// One padded batch for a forward pass.
struct Batch {
    rows: usize,
    /// New tokens per row.
    s: usize,
    ids: Vec<i64>,
    /// `rows × (past + s)`.
    mask: Vec<i64>,
    pos: Vec<i64>,
}

impl Batch {
    /// Sequences left-padded to the longest; each sequence's positions count its own tokens.
    fn left_padded<T: Copy + Into<i64>>(seqs: &[Vec<T>], pad: i64) -> Batch {
        let (rows, s) = (seqs.len(), seqs.iter().map(Vec::len).max().unwrap_or(0));
        let mut b = Batch {
            rows,
            s,
            ids: vec![pad; rows * s],
            mask: vec![0; rows * s],
            pos: vec![0; rows * s],
        };
        for (i, q) in seqs.iter().enumerate() {
            let off = s - q.len();
            for (j, &t) in q.iter().enumerate() {
                b.ids[i * s + off + j] = t.into();
                b.mask[i * s + off + j] = 1;
                b.pos[i * s + off + j] = j as i64;
            }
        }
        b
    }
}

struct Output {
    /// `rows × kept × vocab`.
    logits: DynValue,
    kept: usize,
    present: Vec<DynValue>,
}

impl OrtEngine {
    pub fn load(
        dir: &Path,
        opts: EngineOptions,
        progress: &mut dyn FnMut(&str),
    ) -> Result<OrtEngine, EngineError> {
        let model = ModelDir::open(dir)?;
        let env = super::runtime::environment(progress)?;
        let hashing = {
            let dir = dir.to_path_buf();
            std::thread::spawn(move || super::fingerprint_dir(&dir))
        };
        let onnx = dir.join("model.onnx");
        let mut workers = vec![];
        // Sessions of one engine share their prepacked weights.
        let prepacked = ort::session::builder::PrepackedWeights::new();
        for _ in 0..opts.workers.max(1) {
            let mut builder = Session::builder(env)
                .map_err(ort_err)?
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(ort_err)?
                .with_intra_threads(opts.threads.max(1))
                .map_err(ort_err)?
                // Subnormal floats as zero: masked attention scores underflow into them,
                // and arithmetic on them is slow. 3.5 % of a scoring run (11.85 s ->
                // 11.42 s, three pairs); nothing a log-likelihood can notice changes.
                .with_flush_to_zero()
                .map_err(ort_err)?;
            if let Ok(p) = std::env::var("CANDOR_ORT_PROFILE") {
                builder = builder.with_profiling(p).map_err(ort_err)?;
            }
            if opts.workers > 1 {
                builder = builder
                    .with_prepacked_weights(&prepacked)
                    .map_err(ort_err)?;
            }
            let session = builder
                .commit_from_file(&onnx)
                .map_err(|e| EngineError::BadModel {
                    path: onnx.clone(),
                    message: format!("ONNX Runtime cannot load it: {e}"),
                })?;
            workers.push(Worker { session });
        }
        let io = check_io(&workers[0].session, &model, &onnx)?;
        let name = dir.display().to_string();
        Ok(OrtEngine {
            model,
            workers,
            _prepacked: prepacked,
            io,
            opts,
            name,
            fingerprint: Default::default(),
            hashing: std::sync::Mutex::new(Some(hashing)),
            usage: Counters::default(),
        })
    }

    fn runner(&mut self, w: usize) -> Runner<'_> {
        Runner {
            session: &mut self.workers[w].session,
            model: &self.model,
            io: &self.io,
            opts: &self.opts,
            usage: &self.usage,
        }
    }

    /// Runs `f` on each group, spread over the workers (one thread per session).
    fn on_workers<T: Send>(
        &mut self,
        n_groups: usize,
        f: impl Fn(&mut Runner<'_>, usize) -> Result<T, EngineError> + Sync,
    ) -> Result<Vec<T>, EngineError> {
        let n_workers = self.workers.len().min(n_groups).max(1);
        if n_workers == 1 {
            let mut r = self.runner(0);
            return (0..n_groups).map(|g| f(&mut r, g)).collect();
        }
        let (model, io, opts, usage) = (&self.model, &self.io, &self.opts, &self.usage);
        let f = &f;
        let mut parts: Vec<Vec<(usize, Result<T, EngineError>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self.workers[..n_workers]
                .iter_mut()
                .enumerate()
                .map(|(w, worker)| {
                    scope.spawn(move || {
                        let mut r = Runner {
                            session: &mut worker.session,
                            model,
                            io,
                            opts,
                            usage,
                        };
                        (w..n_groups)
                            .step_by(n_workers)
                            .map(|g| (g, f(&mut r, g)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker thread panicked"))
                .collect()
        });
        let mut all: Vec<(usize, Result<T, EngineError>)> = parts.drain(..).flatten().collect();
        all.sort_by_key(|(g, _)| *g);
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// Changes settings that need no new session (batching and sharing, not threads).
    pub fn set_options(&mut self, o: EngineOptions) {
        self.opts = o;
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    pub fn has_kv_cache(&self) -> bool {
        self.io.kv_cache
    }

    fn check_length(&self, n: usize) -> Result<(), EngineError> {
        if n > self.model.max_positions {
            return Err(EngineError::Request(format!(
                "a prompt of {n} tokens is longer than the model's context of {} tokens ({})",
                self.model.max_positions,
                self.model.dir.display()
            )));
        }
        Ok(())
    }

    /// One batched forward pass over left-padded prompts, logits for the last position only.
    pub fn prefill(&mut self, prompts: &[Vec<u32>]) -> Result<(), EngineError> {
        let b = Batch::left_padded(prompts, self.model.pad_id as i64);
        self.runner(0).forward(&b, None, 1).map(|_| ())
    }

    /// Next-token logits for a prompt at every position (teacher forcing), for `candor model`.
    pub fn all_logits(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>, EngineError> {
        self.check_length(ids.len())?;
        let s = ids.len();
        let b = Batch {
            rows: 1,
            s,
            ids: ids.iter().map(|&t| t as i64).collect(),
            mask: vec![1; s],
            pos: (0..s as i64).collect(),
        };
        let out = self.runner(0).forward(&b, None, 0)?;
        let (_, logits) = out.logits.try_extract_tensor::<f32>().map_err(ort_err)?;
        Ok(logits
            .chunks(self.model.vocab_size)
            .map(<[f32]>::to_vec)
            .collect())
    }
}

fn check_io(session: &Session, model: &ModelDir, onnx: &Path) -> Result<Io, EngineError> {
    let bad = |message: String| EngineError::BadModel {
        path: onnx.to_path_buf(),
        message,
    };
    let inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
    let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    for need in ["input_ids", "attention_mask"] {
        if !inputs.contains(&need) {
            return Err(bad(format!(
                "the graph has no input {need:?} (inputs: {})",
                inputs.join(", ")
            )));
        }
    }
    if !outputs.contains(&"logits") {
        return Err(bad(format!(
            "the graph has no output \"logits\" (outputs: {})",
            outputs.join(", ")
        )));
    }
    let n_past = inputs
        .iter()
        .filter(|n| n.starts_with("past_key_values."))
        .count();
    let kv_cache = n_past > 0;
    if kv_cache {
        for l in 0..model.num_layers {
            for kind in ["key", "value"] {
                let (i, o) = (
                    format!("past_key_values.{l}.{kind}"),
                    format!("present.{l}.{kind}"),
                );
                if !inputs.contains(&i.as_str()) {
                    return Err(bad(format!(
                        "the graph has KV-cache inputs but not {i:?} (config.json says {} layers)",
                        model.num_layers
                    )));
                }
                if !outputs.contains(&o.as_str()) {
                    return Err(bad(format!(
                        "the graph has input {i:?} but no output {o:?}"
                    )));
                }
            }
        }
        if n_past != 2 * model.num_layers {
            return Err(bad(format!(
                "{n_past} KV-cache inputs for {} layers",
                model.num_layers
            )));
        }
    }
    let known = |n: &str| {
        matches!(n, "input_ids" | "attention_mask" | "position_ids")
            || n == crate::import::llama::LOGITS_TO_KEEP
            || n.starts_with("past_key_values.")
    };
    if let Some(u) = inputs.iter().find(|n| !known(n)) {
        return Err(bad(format!(
            "the graph has an input candor does not know: {u:?} (known: input_ids, attention_mask, position_ids, past_key_values.N.key/value, {})",
            crate::import::llama::LOGITS_TO_KEEP
        )));
    }
    Ok(Io {
        kv_cache,
        position_ids: inputs.contains(&"position_ids"),
        logits_to_keep: inputs.contains(&crate::import::llama::LOGITS_TO_KEEP),
    })
}

/// One worker's session with the model's shared, read-only parts.
struct Runner<'a> {
    session: &'a mut Session,
    model: &'a ModelDir,
    io: &'a Io,
    opts: &'a EngineOptions,
    usage: &'a Counters,
}

impl Runner<'_> {
    /// Runs one forward pass. `past` must be given iff the model has KV I/O
    /// (an empty cache is made when `None`).
    fn forward(
        &mut self,
        b: &Batch,
        past: Option<Vec<DynValue>>,
        keep: usize,
    ) -> Result<Output, EngineError> {
        let (rows, s) = (b.rows, b.s);
        let t = b.mask.len() / rows;
        let real: usize = (0..rows)
            .map(|r| {
                b.mask[r * t + t - s..(r + 1) * t]
                    .iter()
                    .filter(|&&m| m != 0)
                    .count()
            })
            .sum();
        self.usage
            .computed
            .fetch_add((rows * s) as u64, Ordering::Relaxed);
        self.usage
            .padding
            .fetch_add((rows * s - real) as u64, Ordering::Relaxed);
        // Integer inputs: the ids, the mask, the positions and the number of logits to keep.
        let int = |name: &'static str,
                   shape: Vec<usize>,
                   v: Vec<i64>|
         -> Result<(Cow<'static, str>, SessionInputValue<'static>), EngineError> {
            Ok((
                name.into(),
                Tensor::from_array((shape, v)).map_err(ort_err)?.into(),
            ))
        };
        let mut inputs: Vec<(Cow<str>, SessionInputValue)> = vec![
            int("input_ids", vec![rows, s], b.ids.clone())?,
            int("attention_mask", vec![rows, t], b.mask.clone())?,
        ];
        if self.io.position_ids {
            inputs.push(int("position_ids", vec![rows, s], b.pos.clone())?);
        }
        if self.io.logits_to_keep {
            // 0 = every position (the ablation with `keep_logits` off).
            let keep = if self.opts.keep_logits { keep } else { 0 };
            inputs.push(int(
                crate::import::llama::LOGITS_TO_KEEP,
                vec![],
                vec![keep as i64],
            )?);
        }
        if self.io.kv_cache {
            let past = match past {
                Some(p) => p,
                None => {
                    let (kv, hd) = (self.model.num_kv_heads, self.model.head_dim);
                    let mut v = vec![];
                    for _ in 0..2 * self.model.num_layers {
                        v.push(
                            Tensor::from_array(([rows, kv, 0, hd], Vec::<f32>::new()))
                                .map_err(ort_err)?
                                .into_dyn(),
                        );
                    }
                    v
                }
            };
            for (i, p) in past.into_iter().enumerate() {
                let kind = if i % 2 == 0 { "key" } else { "value" };
                inputs.push((format!("past_key_values.{}.{kind}", i / 2).into(), p.into()));
            }
        }
        let session = &mut *self.session;
        let mut out = session.run(inputs).map_err(ort_err)?;
        let logits = out
            .remove("logits")
            .ok_or_else(|| EngineError::Ort("no logits output".into()))?;
        let mut present = vec![];
        if self.io.kv_cache {
            for l in 0..self.model.num_layers {
                for kind in ["key", "value"] {
                    present.push(out.remove(format!("present.{l}.{kind}")).ok_or_else(|| {
                        EngineError::Ort(format!("no present.{l}.{kind} output"))
                    })?);
                }
            }
        }
        let kept = {
            let (shape, _) = logits.try_extract_tensor::<f32>().map_err(ort_err)?;
            shape[1] as usize
        };
        self.usage
            .logits
            .fetch_add((rows * kept) as u64, Ordering::Relaxed);
        Ok(Output {
            logits,
            kept,
            present,
        })
    }
}

impl Engine for OrtEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn fingerprint(&self) -> String {
        self.fingerprint
            .get_or_init(|| {
                let started = self.hashing.lock().ok().and_then(|mut h| h.take());
                started
                    .and_then(|h| h.join().ok())
                    .unwrap_or_else(|| super::fingerprint_dir(&self.model.dir))
            })
            .clone()
    }

    fn loglik(
        &mut self,
        requests: &[LoglikRequest],
    ) -> Result<Vec<Vec<ContinuationScore>>, EngineError> {
        let mut tokenized = vec![];
        for r in requests {
            let ctx = self.model.render(&r.prompt)?;
            let mut prompt_ids = None;
            let mut conts = vec![];
            for c in &r.continuations {
                let (p, cont) = self.model.encode_pair(&ctx, c)?;
                if cont.is_empty() {
                    return Err(EngineError::Request(format!(
                        "continuation {c:?} has no tokens"
                    )));
                }
                self.check_length(p.len() + cont.len())?;
                if p.is_empty() {
                    // Nothing would predict the continuation's first token.
                    return Err(EngineError::Request(format!(
                        "the prompt before continuation {c:?} has no tokens"
                    )));
                }
                prompt_ids.get_or_insert(p);
                conts.push(cont);
            }
            tokenized.push((prompt_ids.unwrap_or_default(), conts));
        }
        let scratch: usize = tokenized
            .iter()
            .map(|(p, cs)| cs.iter().map(|c| p.len() + c.len() - 1).sum::<usize>())
            .sum();
        self.usage
            .from_scratch
            .fetch_add(scratch as u64, Ordering::Relaxed);
        let lens: Vec<usize> = tokenized.iter().map(|(p, _)| p.len()).collect();
        let mut out: Vec<Vec<ContinuationScore>> = vec![vec![]; requests.len()];
        // Prompts that begin alike go together, so that they can share their start.
        let mut order: Vec<usize> = (0..lens.len()).collect();
        if self.opts.sort_by_length {
            order.sort_by(|&a, &b| tokenized[a].0.cmp(&tokenized[b].0));
        }
        // Enough groups for every worker to have work, each within the token budget.
        let total: usize = lens.iter().sum();
        let budget = if self.workers.len() > 1 {
            (total / (2 * self.workers.len()))
                .max(256)
                .min(self.opts.max_batch_tokens)
        } else {
            self.opts.max_batch_tokens
        };
        // Groups bound how many prompt caches are alive at once (twice the budget:
        // 4,096 tokens, 190 MB for SmolLM2-135M); within a group every pass is
        // planned for little padding, so fewer, larger groups share more.
        let gs = runs(&order, |g| {
            let used: usize = g.iter().map(|&i| lens[i]).sum();
            (used <= budget * 2).then_some(1)
        });
        let results = self.on_workers(gs.len(), |r, k| {
            let reqs: Vec<(Vec<u32>, Vec<Vec<u32>>)> =
                gs[k].iter().map(|&i| tokenized[i].clone()).collect();
            r.loglik_group(&reqs)
        })?;
        for (g, res) in gs.iter().zip(results) {
            for (k, &i) in g.iter().enumerate() {
                out[i] = res[k]
                    .iter()
                    .zip(&requests[i].continuations)
                    .zip(&tokenized[i].1)
                    .map(|(((lp, greedy), text), toks)| ContinuationScore {
                        logprob: *lp,
                        n_tokens: toks.len(),
                        n_bytes: text.len(),
                        is_greedy: *greedy,
                    })
                    .collect();
            }
        }
        Ok(out)
    }

    fn usage(&self) -> TokenUsage {
        TokenUsage {
            computed: self.usage.computed.load(Ordering::Relaxed),
            padding: self.usage.padding.load(Ordering::Relaxed),
            logits: self.usage.logits.load(Ordering::Relaxed),
            from_scratch: self.usage.from_scratch.load(Ordering::Relaxed),
        }
    }

    fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError> {
        let mut prompts = vec![];
        for r in requests {
            let ids = self.model.encode(&self.model.render(&r.prompt)?)?;
            self.check_length(ids.len() + r.max_tokens)?;
            prompts.push(ids);
        }
        let lens: Vec<usize> = prompts.iter().map(Vec::len).collect();
        let gs = groups(
            &lens,
            self.opts.max_batch_tokens,
            self.opts.max_generate_batch.max(1),
        );
        let results = self.on_workers(gs.len(), |r, k| {
            let ps: Vec<Vec<u32>> = gs[k].iter().map(|&i| prompts[i].clone()).collect();
            let rs: Vec<&GenerateRequest> = gs[k].iter().map(|&i| &requests[i]).collect();
            r.generate_group(&ps, &rs)
        })?;
        let mut out: Vec<Option<Generation>> = vec![None; requests.len()];
        for (g, res) in gs.iter().zip(results) {
            for (k, &i) in g.iter().enumerate() {
                out[i] = Some(res[k].clone());
            }
        }
        Ok(out.into_iter().map(Option::unwrap).collect())
    }
}
