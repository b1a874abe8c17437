//! [`RunResults`]: everything a run found, as one value. Every file reporter
//! renders from it, and `results.json` is it, serialised (schema in
//! `docs/results-schema.md`), so `candor report` re-renders without a model.

use super::trials::Flip;
use crate::engine::Prompt;
use crate::score::Verdict;
use crate::stats::{Interval, MeanInterval};
use serde::{Deserialize, Serialize};

/// The version of the `results.json` schema. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A `results.json` that candor cannot read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    #[error("not a candor results.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("schema version {found} (this candor reads {SCHEMA_VERSION})")]
    Version { found: u32 },
}

/// One run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub schema_version: u32,
    pub candor: Build,
    /// UTC, RFC 3339, to the second.
    pub started_at: String,
    /// Wall time from loading the specs to the verdicts, in seconds.
    pub duration_s: f64,
    pub seed: u64,
    /// `Some(n)`: the quick profile (at most n cases per suite and model).
    pub quick: Option<usize>,
    /// `--limit`: at most this many items per suite.
    pub limit: Option<usize>,
    pub machine: Machine,
    pub baseline: Variant,
    pub candidate: Variant,
    /// Cases run per model (each one engine request, plus a judge request under `judge`).
    pub cases_per_model: usize,
    /// Responses taken from the run store, of those asked for (both models);
    /// `None` when the run used no store.
    pub store: Option<StoreUse>,
    /// Token positions the model computed in this run against what scoring each
    /// (prompt, option) pair from scratch would have; absent for backends that do
    /// not count (and in results written before candor counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<crate::engine::TokenUsage>,
    pub suites: Vec<SuiteResults>,
    /// The trials that ran, sorted by name.
    pub trials: Vec<TrialRecord>,
    pub totals: Totals,
    /// Per-case answers (`samples.jsonl`); not part of `results.json`.
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// What built this candor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub version: String,
    /// The git commit it was built from, or `unknown`.
    pub commit: String,
}

impl Build {
    /// This binary's version and commit.
    pub fn current() -> Build {
        Build {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: env!("CANDOR_GIT_COMMIT").to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub cores: usize,
}

impl Machine {
    pub fn current() -> Machine {
        Machine {
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The baseline or the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// As given: a directory, `default`, or `fake:...`.
    pub model: String,
    pub persona: Option<String>,
    /// What the run store keys its responses by.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreUse {
    pub reused: usize,
    pub total: usize,
}

/// Error rates per condition of one suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteResults {
    pub name: String,
    pub description: String,
    /// Items used (after `--limit` or the quick profile).
    pub items: usize,
    /// `choice`, `generate` or `judge`.
    pub scoring: String,
    /// The conditions that ran, in the suite's order.
    pub conditions: Vec<ConditionResults>,
}

/// Both models on one condition, paired by item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResults {
    pub context: String,
    pub belief: String,
    /// Items scored for both models (refusals may be excluded).
    pub n: u64,
    pub baseline: Rate,
    pub candidate: Rate,
    /// Candidate minus baseline error rate, with a 95% Newcombe interval for paired data.
    pub delta: f64,
    pub delta_ci: Interval,
    /// Items the baseline got right and the candidate wrong, and the reverse.
    pub flips_to_wrong: u64,
    pub flips_to_right: u64,
    /// Suites with a `warmth:` section: both models' mean warmth and the
    /// paired difference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmth: Option<WarmthResults>,
}

/// Both models' warmth on one condition (nats; see `score::warmth`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmthResults {
    /// Items with a warmth score for both models.
    pub n: u64,
    /// Mean warmth with its 95% t interval.
    pub baseline: MeanInterval,
    pub candidate: MeanInterval,
    /// Candidate minus baseline, with the 95% paired t interval.
    pub delta: f64,
    pub delta_ci: Interval,
}

/// An error rate with a 95% Wilson interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub errors: u64,
    pub rate: f64,
    pub ci: Interval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    /// Ran but not counted (a count gate under the quick profile or a
    /// `--limit` that cuts the suite).
    Ignored,
}

/// One trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// `suite::context::belief::criterion`.
    pub name: String,
    pub suite: String,
    pub context: String,
    pub belief: String,
    pub criterion: String,
    /// The other condition a gate compares with (`context::belief`).
    pub reference: Option<String>,
    pub status: Status,
    /// The rule, with its threshold.
    pub description: String,
    pub n: u64,
    pub baseline_errors: u64,
    pub candidate_errors: u64,
    pub baseline_ci: Interval,
    pub candidate_ci: Interval,
    /// What `effect` is: `Δ error`, `gap growth`, `sycophancy shift`.
    pub effect_name: String,
    pub effect: f64,
    pub effect_ci: Interval,
    pub p: Option<f64>,
    pub adjusted_p: Option<f64>,
    pub family: String,
    pub family_size: usize,
    pub family_run: usize,
    /// The failure message libtest prints (failed trials only).
    pub message: Option<String>,
    /// Items the baseline got right and the candidate wrong (warmth gates:
    /// the items whose reply lost the most warmth).
    pub flips: Vec<Flip>,
    /// Warmth gates: each model's mean warmth (nats) with its 95% t interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_warmth: Option<MeanInterval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_warmth: Option<MeanInterval>,
    /// Why an ignored trial does not count, when there is more to say than
    /// its status (a generating suite's smoke sample in the quick profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_reason: Option<String>,
}

/// Counts of trial statuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
}

/// One model's answer to one case (a line of `samples.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub suite: String,
    pub item: String,
    pub context: String,
    pub belief: String,
    /// `baseline` or `candidate`.
    pub model: String,
    pub prompt: Prompt,
    /// Choice scoring: the options, and per option (log-prob, log-prob per character of the option).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<(f64, f64)>,
    /// The option picked, or the generated text.
    pub answer: String,
    pub verdict: Verdict,
    pub agrees_with_belief: bool,
    /// The reply's warmth in nats (suites with a `warmth:` section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmth: Option<f64>,
}

impl RunResults {
    /// Parses `results.json`, checking the schema version.
    pub fn from_json(text: &str) -> Result<RunResults, ResultsError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let v: Version = serde_json::from_str(text)?;
        if v.schema_version != SCHEMA_VERSION {
            return Err(ResultsError::Version {
                found: v.schema_version,
            });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// Whether every gate passed.
    pub fn passed(&self) -> bool {
        self.totals.failed == 0
    }
}

/// UTC RFC 3339 (to the second) of a Unix time.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
