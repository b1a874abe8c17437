//! The suite file as written: serde types that mirror the YAML one to one.
//!
//! Every struct denies unknown fields and checks ranges while deserialising
//! (`try_from`), so that errors carry the position of the offending value.
//! No `#[serde(flatten)]` here: it loses YAML positions.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One spec file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    pub name: Name,
    #[serde(default)]
    pub description: String,
    pub source: String,
    pub license: String,
    #[serde(default)]
    pub items: Option<Vec<RawItem>>,
    #[serde(default)]
    pub data: Option<RawData>,
    pub scoring: RawScoringKeys,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
    #[serde(default)]
    pub criteria: Vec<RawCriterionKeys>,
    #[serde(default)]
    pub family: Option<Name>,
    #[serde(default)]
    pub correction: Option<CorrectionName>,
    /// Keep each model's answers as insta snapshots under `snapshots/`.
    #[serde(default)]
    pub snapshots: bool,
    /// How the question reaches the model: through its chat template (default) or raw.
    #[serde(default)]
    pub prompt: Option<RawPromptFormat>,
    /// Measure each generated reply's warmth (SocioT-style openers, scored by a local model).
    #[serde(default)]
    pub warmth: Option<RawWarmth>,
}

/// `warmth:` — how a reply's warmth is scored. Every key has a default, so
/// `warmth: {}` measures with the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWarmth {
    /// The scorer: a model reference as for the pair (default `default`).
    #[serde(default)]
    pub model: Option<String>,
    /// The reply's first this many characters are scored (default 300).
    #[serde(default)]
    pub max_chars: Option<Count>,
    /// Openers of a close relation ("My friend said,").
    #[serde(default)]
    pub warm: Option<Vec<String>>,
    /// Openers of a distant one ("The stranger said,").
    #[serde(default)]
    pub distant: Option<Vec<String>>,
}

/// `prompt:` — `raw` (a template that renders the whole text, no chat template) or
/// `answer_prefix` (chat template, and the assistant's reply opens with this text).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPromptFormat {
    #[serde(default)]
    pub raw: Option<String>,
    #[serde(default)]
    pub answer_prefix: Option<String>,
}

/// A scalar that parsed but is out of its range (a name with capitals, a
/// probability of 2): what was expected, and what was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// An identifier used in test names: lowercase letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Name(pub String);

impl TryFrom<String> for Name {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        let ok = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Name(s))
        } else {
            Err(InvalidValue(format!(
                "invalid name `{s}`: expected lowercase letters, digits, `-` or `_` (it becomes part of test names)"
            )))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionName {
    Holm,
    Bh,
    None,
}

/// An item written inline in the spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub id: IdValue,
    pub question: String,
    /// Required unless scoring uses `match: none` (checked after parsing).
    #[serde(default)]
    pub correct: OneOrMany,
    #[serde(default)]
    pub incorrect: OneOrMany,
    #[serde(default)]
    pub belief: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

/// An item id: a string or an integer.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdValue {
    Int(i64),
    Str(String),
}

impl IdValue {
    pub fn into_string(self) -> String {
        match self {
            IdValue::Int(i) => i.to_string(),
            IdValue::Str(s) => s,
        }
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
    #[default]
    #[serde(skip)]
    Empty,
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
            OneOrMany::Empty => Vec::new(),
        }
    }
}

/// Items read from a data file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    /// Relative to the spec file.
    pub path: String,
    #[serde(default)]
    pub format: Option<DataFormat>,
    /// candor field -> column/key in the file.
    #[serde(default)]
    pub fields: Option<RawFields>,
    /// CSV only: list-valued columns are split on this string.
    #[serde(default)]
    pub separator: Option<String>,
    /// Keep only items whose category is one of these.
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Jsonl,
    Csv,
    Yaml,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFields {
    pub id: Option<String>,
    pub question: Option<String>,
    pub correct: Option<String>,
    pub incorrect: Option<String>,
    pub belief: Option<String>,
    pub regex: Option<String>,
    pub category: Option<String>,
}

/// How answers are scored: exactly one of the keys (a tagged choice written
/// as a one-key mapping; checked after parsing).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScoringKeys {
    #[serde(default)]
    pub choice: Option<RawChoice>,
    #[serde(default)]
    pub generate: Option<RawGenerate>,
    #[serde(default)]
    pub judge: Option<RawJudge>,
}

/// The scoring method, once exactly one key was found.
#[derive(Debug)]
pub enum RawScoring {
    Choice(RawChoice),
    Generate(RawGenerate),
    Judge(RawJudge),
}

impl RawScoringKeys {
    pub fn into_one(self) -> Result<RawScoring, usize> {
        match (self.choice, self.generate, self.judge) {
            (Some(c), None, None) => Ok(RawScoring::Choice(c)),
            (None, Some(g), None) => Ok(RawScoring::Generate(g)),
            (None, None, Some(j)) => Ok(RawScoring::Judge(j)),
            (c, g, j) => Err(c.is_some() as usize + g.is_some() as usize + j.is_some() as usize),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChoice {
    /// Which score picks the answer: `normalized` (log-prob per character of the option, default) or `raw`.
    #[serde(default)]
    pub decide_by: Option<DecideBy>,
    /// Which options are offered: `best` (first correct answer + all incorrect, default),
    /// `all` (every correct and incorrect answer) or `pair` (the best answer and the
    /// wrong answer the belief conditions state).
    #[serde(default)]
    pub options: Option<OptionSet>,
    /// Text put before every option: the delimiter between prompt and answer
    /// (default: one space after a raw prompt or an answer prefix, else none).
    #[serde(default)]
    pub option_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecideBy {
    Raw,
    Normalized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionSet {
    Best,
    All,
    Pair,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGenerate {
    #[serde(default)]
    pub max_tokens: Option<Count>,
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// `alias` (default) or `regex` (the item's `regex` field must match).
    #[serde(default, rename = "match")]
    pub match_: Option<MatchMode>,
    #[serde(default)]
    pub refusal: Option<RawRefusal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    Alias,
    Regex,
    /// No correctness verdict: the suite only measures (warmth).
    None,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRefusal {
    #[serde(default)]
    pub policy: Option<RefusalPolicy>,
    /// Replaces the built-in phrase list.
    #[serde(default)]
    pub phrases: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalPolicy {
    Exclude,
    Correct,
    Wrong,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJudge {
    /// The judge model (a directory, `default`, or a `fake:` model).
    pub model: String,
    /// A template under templates/; variables: question, answer, correct, incorrect.
    pub template: String,
    #[serde(default)]
    pub max_tokens: Option<Count>,
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    #[serde(default)]
    pub refusal: Option<RawRefusal>,
}

/// A positive integer.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "u64")]
pub struct Count(pub usize);

impl TryFrom<u64> for Count {
    type Error = InvalidValue;
    fn try_from(v: u64) -> Result<Self, InvalidValue> {
        if v == 0 {
            Err(InvalidValue("expected a positive integer, found 0".into()))
        } else {
            Ok(Count(v as usize))
        }
    }
}

/// Percentage points, in (0, 100].
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
pub struct Pp(pub f64);

impl TryFrom<f64> for Pp {
    type Error = InvalidValue;
    fn try_from(v: f64) -> Result<Self, InvalidValue> {
        if v.is_finite() && (0.0..=100.0).contains(&v) {
            Ok(Pp(v))
        } else {
            Err(InvalidValue(format!(
                "expected percentage points between 0 and 100, found {v}"
            )))
        }
    }
}

/// A probability strictly between 0 and 1 (alpha, confidence).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
pub struct Prob(pub f64);

impl TryFrom<f64> for Prob {
    type Error = InvalidValue;
    fn try_from(v: f64) -> Result<Self, InvalidValue> {
        if v > 0.0 && v < 1.0 {
            Ok(Prob(v))
        } else {
            Err(InvalidValue(format!(
                "expected a probability strictly between 0 and 1, found {v}"
            )))
        }
    }
}

/// One gate, written as a one-key mapping: `- max_error_increase: {tolerance_pp: 5}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCriterionKeys {
    #[serde(default)]
    pub max_error_increase: Option<RawErrorIncrease>,
    #[serde(default)]
    pub non_inferiority: Option<RawNonInferiority>,
    #[serde(default)]
    pub max_gap_growth: Option<RawGapGrowth>,
    #[serde(default)]
    pub max_sycophancy_increase: Option<RawSycophancy>,
    #[serde(default)]
    pub min_items: Option<RawMinItems>,
    #[serde(default)]
    pub min_warmth_increase: Option<RawWarmthGate>,
    #[serde(default)]
    pub max_warmth_decrease: Option<RawWarmthGate>,
}

impl RawCriterionKeys {
    /// The one criterion, or how many keys there were.
    pub fn into_one(self) -> Result<RawCriterion, usize> {
        let mut v = Vec::new();
        if let Some(x) = self.max_error_increase {
            v.push(RawCriterion::MaxErrorIncrease(x));
        }
        if let Some(x) = self.non_inferiority {
            v.push(RawCriterion::NonInferiority(x));
        }
        if let Some(x) = self.max_gap_growth {
            v.push(RawCriterion::MaxGapGrowth(x));
        }
        if let Some(x) = self.max_sycophancy_increase {
            v.push(RawCriterion::MaxSycophancyIncrease(x));
        }
        if let Some(x) = self.min_items {
            v.push(RawCriterion::MinItems(x));
        }
        if let Some(x) = self.min_warmth_increase {
            v.push(RawCriterion::MinWarmthIncrease(x));
        }
        if let Some(x) = self.max_warmth_decrease {
            v.push(RawCriterion::MaxWarmthDecrease(x));
        }
        if v.len() == 1 {
            Ok(v.pop().expect("one"))
        } else {
            Err(v.len())
        }
    }
}

/// One gate.
#[derive(Debug)]
pub enum RawCriterion {
    MaxErrorIncrease(RawErrorIncrease),
    NonInferiority(RawNonInferiority),
    MaxGapGrowth(RawGapGrowth),
    MaxSycophancyIncrease(RawSycophancy),
    MinItems(RawMinItems),
    MinWarmthIncrease(RawWarmthGate),
    MaxWarmthDecrease(RawWarmthGate),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawErrorIncrease {
    pub tolerance_pp: Pp,
    #[serde(default)]
    pub alpha: Option<Prob>,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNonInferiority {
    pub margin_pp: Pp,
    #[serde(default)]
    pub confidence: Option<Prob>,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGapGrowth {
    pub tolerance_pp: Pp,
    #[serde(default)]
    pub alpha: Option<Prob>,
    /// The context the gap is compared with (default `none`).
    #[serde(default)]
    pub reference: Option<Name>,
    /// Permutations for the p-value (default 2000).
    #[serde(default)]
    pub permutations: Option<Count>,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSycophancy {
    pub tolerance_pp: Pp,
    #[serde(default)]
    pub alpha: Option<Prob>,
    /// The belief condition without a stated belief (default `none`; `bridge` for the study's control).
    #[serde(default)]
    pub control: Option<Name>,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    /// The belief conditions that state a wrong belief (default `[incorrect]`).
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMinItems {
    pub n: Count,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

/// `min_warmth_increase` / `max_warmth_decrease`: a margin in nats of warmth.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWarmthGate {
    pub margin_nats: Nats,
    #[serde(default)]
    pub alpha: Option<Prob>,
    #[serde(default)]
    pub contexts: Option<Vec<Name>>,
    #[serde(default)]
    pub beliefs: Option<Vec<Name>>,
}

/// A margin in nats of warmth: finite, at least 0.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
pub struct Nats(pub f64);

impl TryFrom<f64> for Nats {
    type Error = InvalidValue;
    fn try_from(v: f64) -> Result<Self, InvalidValue> {
        if v.is_finite() && v >= 0.0 {
            Ok(Nats(v))
        } else {
            Err(InvalidValue(format!(
                "expected a margin of at least 0 nats, found {v}"
            )))
        }
    }
}

/// Items as read from a YAML data file (any keys; the field mapping picks them).
pub type RawRecord = BTreeMap<String, serde_json::Value>;
