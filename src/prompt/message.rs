//! What a model is conditioned on: chat messages or a raw text. The prompt
//! stage produces these; every engine consumes them.

/// One chat message; the engine renders a list of them with the model's chat template.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// What the model is conditioned on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Rendered with the model's chat template, ending with the assistant turn opened.
    Chat(Vec<Message>),
    /// Used verbatim (no template): lm-evaluation-harness style prompts.
    Raw(String),
}
