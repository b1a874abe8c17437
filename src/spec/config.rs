//! `candor.yaml`: project defaults.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Spec glob (default `specs/*.yaml`).
    #[serde(default)]
    pub specs: Option<String>,
    /// Template directory (default `templates`).
    #[serde(default)]
    pub templates: Option<String>,
    #[serde(default)]
    pub baseline: Option<RawVariant>,
    #[serde(default)]
    pub candidate: Option<RawVariant>,
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    pub model: String,
    /// A peft LoRA adapter directory merged into `model`, relative to the project root.
    #[serde(default)]
    pub adapter: Option<String>,
    #[serde(default)]
    pub persona: Option<String>,
}
