//! candor: a test harness that catches warmth-induced reliability regressions
//! in language models.
//!
//! Data flows one way: [`spec`] (YAML suites) → [`prompt`] (rendered cases) →
//! [`engine`] (model responses) → [`score`] (outcomes) → [`stats`] (paired
//! comparisons) → [`run`] (criteria, trials, the results value) → [`report`]
//! (rendering and all printing); [`cli`] drives the subcommands. [`import`]
//! (beside the engine) turns GGUF files into model directories, [`store`]
//! keeps model responses between runs.
//!
//! # Gating your own engine
//!
//! The runner opens models through a [`run::MakeEngine`] factory, and a
//! closure is one, so the shipped suites can run on any backend that
//! implements [`engine::Engine`]. A `harness = false` test target that gates
//! an engine of its own:
//!
//! ```
//! use candor::engine::{
//!     ContinuationScore, Engine, EngineError, FinishReason, GenerateRequest, Generation,
//!     LoglikRequest, ModelRef,
//! };
//! use candor::run::{self, RunOptions, VariantSpec};
//!
//! /// Prefers the shortest option and knows nothing: a stand-in for a real backend.
//! struct Shortest;
//!
//! impl Engine for Shortest {
//!     fn name(&self) -> &str {
//!         "shortest"
//!     }
//!     fn fingerprint(&self) -> String {
//!         "shortest-v1".into()
//!     }
//!     fn loglik(
//!         &mut self,
//!         requests: &[LoglikRequest],
//!     ) -> Result<Vec<Vec<ContinuationScore>>, EngineError> {
//!         Ok(requests
//!             .iter()
//!             .map(|r| {
//!                 r.continuations
//!                     .iter()
//!                     .enumerate()
//!                     .map(|(i, c)| ContinuationScore {
//!                         // Shortest first; ties go to the earlier option.
//!                         logprob: -(c.len() as f64) - 1e-3 * i as f64,
//!                         n_tokens: 1,
//!                         n_bytes: c.len(),
//!                         is_greedy: false,
//!                     })
//!                     .collect()
//!             })
//!             .collect())
//!     }
//!     fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError> {
//!         Ok(requests
//!             .iter()
//!             .map(|_| Generation {
//!                 text: "I don't know.".into(),
//!                 n_tokens: 4,
//!                 finish: FinishReason::Eos,
//!             })
//!             .collect())
//!     }
//! }
//!
//! // Every model reference opens the same engine here; a real factory would
//! // look at `model` (e.g. a directory of the engine's own format).
//! let engines = |_model: &ModelRef, _progress: &mut dyn FnMut(&str)| {
//!     Ok(Box::new(Shortest) as Box<dyn Engine>)
//! };
//! let variant = |persona: Option<&str>| VariantSpec {
//!     model: ModelRef::parse("models/shortest").unwrap(),
//!     persona: persona.map(String::from),
//! };
//! let opts = RunOptions {
//!     specs: vec!["tests/fixtures/good/*.yaml".into()],
//!     templates_dir: "tests/fixtures/templates".into(),
//!     baseline: variant(None),
//!     candidate: variant(Some("warm")),
//!     limit: None,
//!     quick: None,
//!     seed: 0,
//!     store: None,
//!     snapshots: None,
//! };
//! let args = libtest_mimic::Arguments {
//!     quiet: true,
//!     ..Default::default()
//! };
//! // The same engine on both sides: no gate can find a regression.
//! let code = run::run(&opts, &engines, &mut run::Quiet, &args);
//! assert_eq!(code, std::process::ExitCode::SUCCESS);
//! ```

pub mod cli;
pub mod engine;
pub mod import;
pub mod prompt;
pub mod report;
pub mod run;
pub mod score;
pub mod spec;
pub mod stats;
pub mod store;
