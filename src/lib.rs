//! candor: a test harness that catches warmth-induced reliability regressions
//! in language models.
//!
//! Data flows one way: [`spec`] (YAML suites) → [`prompt`] (rendered cases) →
//! [`engine`] (model responses) → [`score`] (outcomes) → [`stats`] (paired
//! comparisons) → [`run`] (criteria, trials) → [`report`] (all printing).
//! [`import`] turns GGUF files into model directories the engine can load.

pub mod engine;
pub mod import;
pub mod prompt;
pub mod report;
pub mod run;
pub mod score;
pub mod spec;
pub mod stats;
pub mod store;
