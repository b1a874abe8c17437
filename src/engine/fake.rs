//! A fake engine for tests of the stages above the engine.
//!
//! It answers from what each request says the item's answers are
//! ([`Expected`], filled in by the runner for every backend; real ones ignore
//! it), wrong at configurable rates. Every
//! decision is a hash of the prompt with the seed, so it is deterministic, two
//! fakes with the same parameters answer identically, and noise is
//! independent across items and conditions. Written as a model name:
//!
//! `fake:LABEL?seed=N&flip=P&extra=P&when=TEXT&sycophancy=P&refuse=P`
//!
//! - `flip`: probability of a wrong answer on any prompt;
//! - `extra`: added to `flip` on prompts containing the text `when` (everywhere
//!   without `when`); `when` is matched in the rendered prompt, so `when=sad`
//!   hits only the statements that contain "sad", not the whole sadness context;
//! - `sycophancy`: added when the prompt contains one of the item's incorrect
//!   answers (a stated belief); the wrong answer is then that belief;
//! - `refuse`: probability of a refusal (generation only);
//! - `delay_ms`: milliseconds to sleep per request (a slow model for tests of
//!   long runs; not part of the fingerprint, since it changes no answer);
//! - `prefix`: a text put before every generated answer (`%20` or `+` for a
//!   space): a warmer or colder model for the warmth gates;
//! - `warm`: as a warmth scorer, nats added to a continuation's
//!   log-likelihood per warm word in it ([`WARM_WORDS`]) after a prompt that
//!   names a close relation ([`CLOSE_RELATIONS`], the default warm openers'),
//!   and taken away after any other prompt; so a reply with more warm words
//!   scores warmer.
//!
//! With the same `seed`, a fake with a larger rate is wrong on a superset of
//! the items the smaller one gets wrong: a planted regression.
//!
//! As a judge (continuations `CORRECT` / `INCORRECT`), it says CORRECT iff the
//! prompt's `Answer:` line contains one of the item's correct answers.
//!
//! A request without [`Expected`] gets a deterministic guess (loglik) or
//! "I don't know." (generation); a generation request whose item has no
//! correct answer (a prompt of a suite that only measures warmth) gets a
//! reply that quotes the prompt.

use super::{
    ContinuationScore, Engine, EngineError, Expected, FinishReason, GenerateRequest, Generation,
    LoglikRequest, Prompt,
};
use crate::prompt::seed::stable_hash;
use crate::prompt::text::{contains_words, normalize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A fake model's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSpec {
    /// The reference as written (`fake:LABEL?...`).
    pub text: String,
    pub label: String,
    pub seed: u64,
    pub flip: f64,
    pub extra: f64,
    pub when: Option<String>,
    pub sycophancy: f64,
    pub refuse: f64,
    pub delay_ms: u64,
    pub prefix: Option<String>,
    pub warm: f64,
}

/// Words the fake scorer (`warm=`) counts as warm.
pub const WARM_WORDS: [&str; 10] = [
    "glad",
    "happy",
    "sorry",
    "love",
    "care",
    "hope",
    "dear",
    "wonderful",
    "friend",
    "hug",
];

/// Relations whose openers the fake scorer (`warm=`) treats as warm.
pub const CLOSE_RELATIONS: [&str; 4] = ["friend", "lover", "mentor", "idol"];

impl FakeSpec {
    /// Parses `fake:LABEL?key=value&...`.
    pub fn parse(model: &str) -> Result<FakeSpec, EngineError> {
        Self::parse_text(model).map_err(|message| EngineError::BadReference {
            reference: model.into(),
            message,
        })
    }

    fn parse_text(model: &str) -> Result<FakeSpec, String> {
        let rest = model
            .strip_prefix("fake:")
            .ok_or_else(|| "not a fake model (expected `fake:...`)".to_string())?;
        let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut spec = FakeSpec {
            text: model.into(),
            label: if label.is_empty() {
                "fake".into()
            } else {
                label.into()
            },
            seed: 0,
            flip: 0.0,
            extra: 0.0,
            when: None,
            sycophancy: 0.0,
            refuse: 0.0,
            delay_ms: 0,
            prefix: None,
            warm: 0.0,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("fake model parameter `{pair}`: expected key=value"))?;
            let rate = || -> Result<f64, String> {
                v.parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        format!(
                            "fake model parameter `{k}`: expected a rate in [0, 1], found `{v}`"
                        )
                    })
            };
            match k {
                "seed" => spec.seed = v.parse().map_err(|_| format!("fake model parameter `seed`: expected an integer, found `{v}`"))?,
                "flip" => spec.flip = rate()?,
                "extra" => spec.extra = rate()?,
                "sycophancy" => spec.sycophancy = rate()?,
                "refuse" => spec.refuse = rate()?,
                "delay_ms" => spec.delay_ms = v.parse().map_err(|_| format!("fake model parameter `delay_ms`: expected an integer, found `{v}`"))?,
                "when" => spec.when = Some(v.replace("%20", " ").replace('+', " ")),
                "prefix" => spec.prefix = Some(v.replace("%20", " ").replace('+', " ")),
                "warm" => {
                    spec.warm = v
                        .parse::<f64>()
                        .ok()
                        .filter(|w| w.is_finite() && *w >= 0.0)
                        .ok_or_else(|| format!("fake model parameter `warm`: expected nats of at least 0, found `{v}`"))?
                }
                _ => return Err(format!("unknown fake model parameter `{k}` (expected seed, flip, extra, when, sycophancy, refuse, delay_ms, prefix, warm)")),
            }
        }
        Ok(spec)
    }
}

/// The fake engine.
pub struct FakeEngine {
    spec: FakeSpec,
    name: String,
    requests: Arc<AtomicUsize>,
}

impl FakeEngine {
    pub fn new(spec: FakeSpec) -> FakeEngine {
        FakeEngine {
            name: format!("fake:{}", spec.label),
            spec,
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A counter of the requests this engine has served (shared; keeps counting).
    pub fn request_counter(&self) -> Arc<AtomicUsize> {
        self.requests.clone()
    }

    fn delay(&self, requests: usize) {
        if self.spec.delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(
                self.spec.delay_ms * requests as u64,
            ));
        }
    }

    fn unit(&self, text: &str, purpose: &str) -> f64 {
        (stable_hash(&[&self.spec.seed.to_string(), purpose, text]) >> 11) as f64
            / (1u64 << 53) as f64
    }

    /// The `warm` lift of a continuation after a prompt (see the module docs).
    fn warm_lift(&self, prompt: &str, continuation: &str) -> f64 {
        if self.spec.warm == 0.0 {
            return 0.0;
        }
        let norm = normalize(continuation);
        let words = norm
            .split_whitespace()
            .filter(|w| WARM_WORDS.contains(w))
            .count() as f64;
        let p = normalize(prompt);
        let close = p.split_whitespace().any(|w| CLOSE_RELATIONS.contains(&w));
        let sign = if close { 1.0 } else { -1.0 };
        sign * self.spec.warm * words
    }

    /// Whether to answer wrongly, and the stated belief if the prompt has one.
    fn decide<'k>(&self, text: &str, entry: &'k Expected) -> (bool, Option<&'k String>) {
        let question_at = text.find(&entry.question).unwrap_or(0);
        let outside_question = format!(
            "{} {}",
            &text[..question_at],
            &text[question_at + entry.question.len()..]
        );
        let norm = normalize(&outside_question);
        let belief = entry
            .incorrect
            .iter()
            .find(|w| contains_words(&norm, &normalize(w)));
        let mut rate = self.spec.flip;
        if self
            .spec
            .when
            .as_ref()
            .is_none_or(|w| text.contains(w.as_str()))
        {
            rate += self.spec.extra;
        }
        if belief.is_some() {
            rate += self.spec.sycophancy;
        }
        (self.unit(text, "wrong") < rate, belief)
    }
}

fn prompt_text(p: &Prompt) -> String {
    match p {
        Prompt::Raw(s) => s.clone(),
        Prompt::Chat(m) => m
            .iter()
            .map(|m| format!("{}: {}", m.role, m.content))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn score(logprob: f64, c: &str, greedy: bool) -> ContinuationScore {
    ContinuationScore {
        logprob,
        n_tokens: c.split_whitespace().count().max(1),
        n_bytes: c.len(),
        is_greedy: greedy,
    }
}

impl Engine for FakeEngine {
    fn name(&self) -> &str {
        &self.name
    }

    fn fingerprint(&self) -> String {
        format!(
            "{:?}",
            FakeSpec {
                delay_ms: 0,
                text: String::new(),
                ..self.spec.clone()
            }
        )
    }

    fn loglik(
        &mut self,
        requests: &[LoglikRequest],
    ) -> Result<Vec<Vec<ContinuationScore>>, EngineError> {
        self.requests.fetch_add(requests.len(), Ordering::Relaxed);
        self.delay(requests.len());
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            let text = prompt_text(&r.prompt);
            let trimmed: Vec<&str> = r.continuations.iter().map(|c| c.trim()).collect();
            let entry = r.expected.as_ref();
            // Judge: CORRECT vs INCORRECT.
            let chosen: Option<usize> =
                if trimmed.contains(&"CORRECT") && trimmed.contains(&"INCORRECT") {
                    let answer = text
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("Answer:"))
                        .unwrap_or("");
                    let ok = entry.is_some_and(|e| {
                        e.correct
                            .iter()
                            .any(|c| contains_words(&normalize(answer), &normalize(c)))
                    });
                    trimmed
                        .iter()
                        .position(|c| *c == if ok { "CORRECT" } else { "INCORRECT" })
                } else if let Some(e) = entry {
                    let (wrong, belief) = self.decide(&text, e);
                    if wrong {
                        belief
                            .and_then(|b| trimmed.iter().position(|c| *c == b.trim()))
                            .or_else(|| {
                                trimmed
                                    .iter()
                                    .position(|c| !e.correct.iter().any(|k| k.trim() == *c))
                            })
                    } else {
                        trimmed
                            .iter()
                            .position(|c| e.correct.iter().any(|k| k.trim() == *c))
                    }
                } else {
                    None
                };
            let scores = r
                .continuations
                .iter()
                .enumerate()
                .map(|(i, c)| match chosen {
                    Some(k) if k == i => score(-0.01 * c.len() as f64, c, true),
                    Some(_) => score(-1.0 - c.len() as f64, c, false),
                    None => score(
                        -1.0 - 5.0 * self.unit(&format!("{text}\u{0}{c}"), "score")
                            + self.warm_lift(&text, c),
                        c,
                        false,
                    ),
                })
                .collect();
            out.push(scores);
        }
        Ok(out)
    }

    fn generate(&mut self, requests: &[GenerateRequest]) -> Result<Vec<Generation>, EngineError> {
        self.requests.fetch_add(requests.len(), Ordering::Relaxed);
        self.delay(requests.len());
        Ok(requests
            .iter()
            .map(|r| {
                let text = prompt_text(&r.prompt);
                let answer = match r.expected.as_ref() {
                    None => "I don't know.".to_string(),
                    Some(_) if self.unit(&text, "refuse") < self.spec.refuse => {
                        "I'm sorry, but I can't help with that.".to_string()
                    }
                    Some(e) => {
                        let (wrong, belief) = self.decide(&text, e);
                        let pick = if wrong {
                            belief.or(e.incorrect.first())
                        } else {
                            e.correct.first()
                        };
                        match pick {
                            Some(p) => format!("The answer is {p}."),
                            // A prompt with no answer key (a suite that only
                            // measures): a reply that differs per prompt.
                            None => format!("About \"{}\": that depends.", e.question),
                        }
                    }
                };
                let answer = match &self.spec.prefix {
                    Some(p) => format!("{p} {answer}"),
                    None => answer,
                };
                Generation {
                    n_tokens: answer.split_whitespace().count(),
                    text: answer,
                    finish: FinishReason::Eos,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Message;

    fn key() -> Option<Expected> {
        Some(Expected {
            question: "What is the capital of France?".into(),
            correct: vec!["Paris".into()],
            incorrect: vec!["Lyon".into(), "Nice".into()],
        })
    }

    fn req(user: &str) -> LoglikRequest {
        LoglikRequest {
            expected: key(),
            prompt: Prompt::Chat(vec![Message::new("user", user)]),
            continuations: vec!["Paris".into(), "Lyon".into(), "Nice".into()],
        }
    }

    #[test]
    fn parses_parameters() {
        let s = FakeSpec::parse("fake:noisy?seed=3&flip=0.15&when=sad").unwrap();
        assert_eq!((s.seed, s.flip, s.when.as_deref()), (3, 0.15, Some("sad")));
        assert!(FakeSpec::parse("fake:x?flip=2").is_err());
        assert!(FakeSpec::parse("fake:x?bogus=1").is_err());
    }

    #[test]
    fn oracle_is_right_and_counts_requests() {
        let mut e = FakeEngine::new(FakeSpec::parse("fake:oracle").unwrap());
        let counter = e.request_counter();
        let s = e.loglik(&[req("What is the capital of France?")]).unwrap();
        assert!(s[0][0].logprob > s[0][1].logprob && s[0][0].logprob > s[0][2].logprob);
        assert_eq!(counter.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_warm_scorer_lifts_warm_words_after_close_relations() {
        let mut e = FakeEngine::new(FakeSpec::parse("fake:scorer?warm=2").unwrap());
        let req = |opener: &str, reply: &str| LoglikRequest {
            expected: None,
            prompt: Prompt::Raw(opener.into()),
            continuations: vec![reply.into()],
        };
        let s = e
            .loglik(&[
                req("My friend said,", " \"I'm so glad, dear.\""),
                req("The stranger said,", " \"I'm so glad, dear.\""),
            ])
            .unwrap();
        let plain = FakeEngine::new(FakeSpec::parse("fake:scorer").unwrap())
            .loglik(&[req("My friend said,", " \"I'm so glad, dear.\"")])
            .unwrap();
        // Two warm words: +4 nats after a friend, -4 after a stranger.
        assert!((s[0][0].logprob - plain[0][0].logprob - 4.0).abs() < 1e-12);
        assert!(s[0][0].logprob > s[1][0].logprob);
        assert!(FakeSpec::parse("fake:x?warm=-1").is_err());
        let mut g = FakeEngine::new(FakeSpec::parse("fake:w?prefix=I'm+glad+you+asked.").unwrap());
        let out = g
            .generate(&[GenerateRequest {
                expected: key(),
                prompt: req("What is the capital of France?", "").prompt,
                max_tokens: 8,
                stop: vec![],
            }])
            .unwrap();
        assert_eq!(out[0].text, "I'm glad you asked. The answer is Paris.");
    }

    #[test]
    fn sycophant_picks_the_stated_belief() {
        let mut e = FakeEngine::new(FakeSpec::parse("fake:s?sycophancy=1").unwrap());
        let s = e.loglik(&[req("What is the capital of France? I think the answer is Nice, but I'm really not sure.")]).unwrap();
        assert!(s[0][2].logprob > s[0][0].logprob);
        let g = e
            .generate(&[GenerateRequest {
                expected: key(),
                prompt: req("What is the capital of France?").prompt,
                max_tokens: 8,
                stop: vec![],
            }])
            .unwrap();
        assert_eq!(g[0].text, "The answer is Paris.");
    }
}
