//! The prompt stage: suite × context × belief → [`Case`]s with stable ids and
//! rendered user messages. Model-independent: both variants get the same cases;
//! a variant's persona is added as a system message by [`Case::prompt`].

// Diagnostics are large but only on the cold, failing path.
#![allow(clippy::result_large_err)]

pub mod message;
pub mod seed;
pub mod templates;
pub mod text;

use crate::spec::jinja::guarded;
use crate::spec::{Diagnostic, OptionSet, PromptFormat, Scoring, Suite};
pub use message::{Message, Prompt};
pub use templates::Templates;

/// One (context, belief) pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Condition {
    pub context: String,
    pub belief: String,
}

impl Condition {
    pub fn new(context: impl Into<String>, belief: impl Into<String>) -> Self {
        Condition {
            context: context.into(),
            belief: belief.into(),
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}::{}", self.context, self.belief)
    }
}

/// One rendered question for one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// `suite::context::belief::item`.
    pub id: String,
    /// Index of the item in its suite.
    pub item: usize,
    pub condition: Condition,
    /// The rendered user message.
    pub user: String,
    /// Answer options (choice scoring), without the option prefix.
    pub options: Vec<String>,
    /// Which options are correct.
    pub option_correct: Vec<bool>,
    /// The wrong answer stated as the user's belief (set for every case; the
    /// belief template decides whether it appears).
    pub stated_belief: Option<String>,
    /// The option that is the stated belief, if any.
    pub belief_option: Option<usize>,
    /// How the text reaches the model.
    pub frame: Frame,
}

/// A case's framing: chat messages, or a raw text rendered from the suite's template.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The user message through the chat template; the assistant's reply may
    /// open with a fixed text.
    Chat { answer_prefix: Option<String> },
    /// The whole prompt (without persona).
    Raw(String),
}

impl Case {
    /// The prompt for a variant: its persona (a system message) then the user message.
    /// A raw prompt has no system turn: the persona opens the text, then a blank line.
    pub fn prompt(&self, persona: Option<&str>) -> Prompt {
        match &self.frame {
            Frame::Chat { answer_prefix } => {
                let mut messages = Vec::new();
                if let Some(p) = persona {
                    messages.push(Message::new("system", p));
                }
                messages.push(Message::new("user", self.user.clone()));
                if let Some(a) = answer_prefix {
                    messages.push(Message::new("assistant", a.clone()));
                }
                Prompt::Chat(messages)
            }
            Frame::Raw(text) => Prompt::Raw(match persona {
                Some(p) => format!("{p}\n\n{text}"),
                None => text.clone(),
            }),
        }
    }
}

/// Plan parameters.
pub struct PlanOptions<'a> {
    pub seed: u64,
    /// At most this many items per suite (the first N).
    pub limit: Option<usize>,
    /// Which conditions of which suite to render (by suite name).
    pub select: &'a dyn Fn(&str, &Condition) -> bool,
}

/// The cases of one suite, grouped by condition (in the suite's order).
#[derive(Debug, Clone)]
pub struct SuitePlan {
    pub suite: String,
    /// Number of items used (after `limit`).
    pub n_items: usize,
    pub conditions: Vec<(Condition, Vec<Case>)>,
}

/// Every condition a suite declares, in declaration order (context-major).
pub fn conditions(suite: &Suite) -> Vec<Condition> {
    let mut out = Vec::new();
    for c in &suite.contexts {
        for b in &suite.beliefs {
            out.push(Condition::new(c.clone(), b.clone()));
        }
    }
    out
}

/// Checks that every template a suite needs exists; errors point at the spec.
pub fn check_templates(suite: &Suite, templates: &Templates) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    // (the node naming it, the template file, the name, its kind)
    let mut need: Vec<(String, String, &str, &str)> = Vec::new();
    for (j, c) in suite.contexts.iter().enumerate() {
        need.push((
            format!("contexts.{j}"),
            format!("contexts/{c}.j2"),
            c,
            "contexts",
        ));
    }
    for (j, b) in suite.beliefs.iter().enumerate() {
        need.push((
            format!("beliefs.{j}"),
            format!("beliefs/{b}.j2"),
            b,
            "beliefs",
        ));
    }
    if let Scoring::Judge { template, .. } = &suite.scoring {
        need.push((
            "scoring.judge.template".into(),
            template.clone(),
            template,
            "template",
        ));
    }
    for (node, file, name, kind) in need {
        if !templates.exists(&file) {
            let what = match kind {
                "contexts" => "context",
                "beliefs" => "belief condition",
                _ => "template",
            };
            // A near miss among the templates that exist, as a hint.
            let known: Vec<String> = std::fs::read_dir(templates.dir().join(kind))
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|f| f.strip_suffix(".j2"))
                        .map(str::to_string)
                })
                .collect();
            let hint = crate::spec::spans::did_you_mean(name, known.iter().map(String::as_str))
                .map_or_else(String::new, |m| format!(" (did you mean `{m}`?)"));
            let r = suite.spans.value(&node);
            errors.push(Diagnostic::at_offset(
                &suite.path,
                &suite.text,
                r.start,
                r.len(),
                format!("unknown {what} `{name}`{hint}"),
                format!("expected a template at templates/{file}"),
            ));
        }
    }
    errors
}

/// Renders the selected conditions of a suite.
pub fn plan_suite(
    suite: &Suite,
    templates: &Templates,
    opts: &PlanOptions<'_>,
) -> Result<SuitePlan, Vec<Diagnostic>> {
    let missing = check_templates(suite, templates);
    if !missing.is_empty() {
        return Err(missing);
    }
    let n_items = opts
        .limit
        .map_or(suite.items.len(), |l| l.min(suite.items.len()));
    let items = &suite.items[..n_items];
    // The raw template was checked when the spec was read.
    let mut raw_env = crate::spec::jinja::environment();
    raw_env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let raw_template = match &suite.prompt {
        PromptFormat::Raw(t) => guarded(|| raw_env.template_from_str(t)).ok(),
        _ => None,
    };
    let used_by = |cond: &Condition, item: &str| {
        format!(
            "{} (context `{}`, belief `{}`, item `{item}`)",
            suite.path.display(),
            cond.context,
            cond.belief
        )
    };
    let mut planned = Vec::new();
    for cond in conditions(suite) {
        if !(opts.select)(&suite.name, &cond) {
            continue;
        }
        let mut cases = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let stated = item.belief.clone().or_else(|| {
                (!item.incorrect.is_empty()).then(|| {
                    item.incorrect
                        [seed::belief_index(&suite.name, &item.id, opts.seed, item.incorrect.len())]
                    .clone()
                })
            });
            let correct0 = item.correct.first().cloned().unwrap_or_default();
            let body = templates
                .render(
                    &format!("beliefs/{}.j2", cond.belief),
                    minijinja::context! { question => &item.question, belief => stated.clone().unwrap_or_default(), correct => correct0 },
                )
                .map_err(|e| vec![templates.diagnostic(&e, &used_by(&cond, &item.id))])?;
            let user = templates
                .render(
                    &format!("contexts/{}.j2", cond.context),
                    minijinja::context! { body => body, variant => seed::variant(&suite.name, &item.id, opts.seed) },
                )
                .map_err(|e| vec![templates.diagnostic(&e, &used_by(&cond, &item.id))])?;
            let frame = match (&suite.prompt, &raw_template) {
                (PromptFormat::Raw(_), Some(t)) => Frame::Raw(
                    guarded(|| {
                        t.render(minijinja::context! { user => &user, question => &item.question })
                    })
                    .map_err(|e| {
                        let r = suite.spans.value("prompt.raw");
                        vec![Diagnostic::at_offset(
                            &suite.path,
                            &suite.text,
                            r.start,
                            r.len(),
                            format!("`prompt.raw` failed for {}: {e}", used_by(&cond, &item.id)),
                            "expected a template using only `user` and `question`",
                        )]
                    })?,
                ),
                (PromptFormat::ChatWithPrefix(p), _) => Frame::Chat {
                    answer_prefix: Some(p.clone()),
                },
                _ => Frame::Chat {
                    answer_prefix: None,
                },
            };
            let (options, option_correct) = match &suite.scoring {
                Scoring::Choice(c) => {
                    let correct: Vec<String> = match c.options {
                        OptionSet::Best | OptionSet::Pair => {
                            item.correct.iter().take(1).cloned().collect()
                        }
                        OptionSet::All => item.correct.clone(),
                    };
                    let incorrect: Vec<String> = match c.options {
                        // The stated belief's own option (or, when the belief is
                        // phrased differently, the seeded incorrect answer).
                        OptionSet::Pair => {
                            let flags = vec![false; item.incorrect.len()];
                            let k = stated
                                .as_deref()
                                .and_then(|b| find_belief_option(b, &item.incorrect, &flags))
                                .unwrap_or_else(|| {
                                    seed::belief_index(
                                        &suite.name,
                                        &item.id,
                                        opts.seed,
                                        item.incorrect.len(),
                                    )
                                });
                            item.incorrect.get(k).cloned().into_iter().collect()
                        }
                        _ => item.incorrect.clone(),
                    };
                    let mut opts_: Vec<String> = correct.clone();
                    let mut flags = vec![true; correct.len()];
                    flags.extend(std::iter::repeat_n(false, incorrect.len()));
                    opts_.extend(incorrect);
                    (opts_, flags)
                }
                _ => (Vec::new(), Vec::new()),
            };
            let belief_option = stated
                .as_deref()
                .and_then(|b| find_belief_option(b, &options, &option_correct));
            cases.push(Case {
                id: format!("{}::{}::{}", suite.name, cond, item.id),
                item: i,
                condition: cond.clone(),
                user,
                options,
                option_correct,
                stated_belief: stated,
                belief_option,
                frame,
            });
        }
        planned.push((cond, cases));
    }
    Ok(SuitePlan {
        suite: suite.name.clone(),
        n_items,
        conditions: planned,
    })
}

/// The incorrect option equal to the belief after normalisation, else the
/// first incorrect option containing it or contained in it.
fn find_belief_option(belief: &str, options: &[String], correct: &[bool]) -> Option<usize> {
    let b = text::normalize(belief);
    let wrong = || options.iter().enumerate().filter(|(i, _)| !correct[*i]);
    wrong()
        .find(|(_, o)| text::normalize(o) == b)
        .map(|(i, _)| i)
        .or_else(|| {
            wrong()
                .find(|(_, o)| {
                    let o = text::normalize(o);
                    !o.is_empty() && (text::contains_words(&o, &b) || text::contains_words(&b, &o))
                })
                .map(|(i, _)| i)
        })
}

/// Renders a persona (`personas/<name>.j2`) into its system prompt.
pub fn persona(templates: &Templates, name: &str) -> Result<String, Diagnostic> {
    let file = format!("personas/{name}.j2");
    if !templates.exists(&file) {
        return Err(Diagnostic::file(
            &templates.dir().join(&file),
            format!("unknown persona `{name}`: no template at templates/{file}"),
        ));
    }
    templates
        .render(&file, minijinja::context! {})
        .map_err(|e| templates.diagnostic(&e, &format!("persona `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belief_option_prefers_exact_then_containment() {
        let opts = vec![
            "Paris".to_string(),
            "Lyon".to_string(),
            "the city of Marseille".to_string(),
        ];
        let flags = vec![true, false, false];
        assert_eq!(find_belief_option("lyon", &opts, &flags), Some(1));
        assert_eq!(find_belief_option("Marseille", &opts, &flags), Some(2));
        assert_eq!(find_belief_option("Paris", &opts, &flags), None);
    }

    #[test]
    fn templates_cannot_leave_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.j2"), "{% include '../x.j2' %}").unwrap();
        let t = Templates::new(dir.path());
        assert!(t.render("a.j2", minijinja::context! {}).is_err());
        assert!(templates::safe_path(dir.path(), "/etc/passwd").is_none());
        assert!(templates::safe_path(dir.path(), "../x").is_none());
    }
}
