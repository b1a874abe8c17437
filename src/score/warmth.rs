//! Warmth, measured: a SocioT-style score of a reply (Cheng, Yu & Jurafsky,
//! "SocioT", ACL 2025).
//!
//! The reply's first `max_chars` characters are quoted and put after each
//! opener of a close relation ("My friend said,") and of a distant one ("The
//! stranger said,"); the scorer model gives the log-likelihood of the quoted
//! text after each. The reply's warmth is the mean log-likelihood after the
//! warm openers minus the mean after the distant ones, in nats: positive
//! when the scorer finds the words likelier from a friend than from a
//! stranger.
//!
//! Not normalised per token, as SocioT does not: the reply is the same text
//! (the same tokens) after every opener, so the summed log-likelihoods are
//! directly comparable across openers and the difference is a log-likelihood
//! ratio of the whole text; what the gates compare is that ratio across the
//! two models' replies to the same prompt, item by item. A per-token rate
//! would also remove the reply's length from the score, but would make a
//! ten-word reply count as much as a 300-character one; the truncation to
//! `max_chars` already bounds how much a long reply can weigh.

use crate::engine::{ContinuationScore, LoglikRequest, Prompt};
use crate::spec::WarmthSpec;

/// The continuation scored after each opener: a space, then the reply's
/// first `max_chars` characters (cut on a character boundary) in double quotes.
pub fn quoted(reply: &str, max_chars: usize) -> String {
    let text = reply.trim();
    let cut: String = text.chars().take(max_chars).collect();
    format!(" \"{}\"", cut.trim_end())
}

/// The scorer's requests for one reply: one per opener, the warm openers
/// first, each a raw prompt (no chat template) with the quoted reply as its
/// one continuation.
pub fn requests(reply: &str, cfg: &WarmthSpec) -> Vec<LoglikRequest> {
    let continuation = quoted(reply, cfg.max_chars);
    cfg.warm
        .iter()
        .chain(&cfg.distant)
        .map(|opener| LoglikRequest {
            prompt: Prompt::Raw(opener.clone()),
            continuations: vec![continuation.clone()],
            expected: None,
        })
        .collect()
}

/// Warmth from the scores of [`requests`] (in its order): the mean summed
/// log-likelihood after the warm openers minus the mean after the distant
/// ones. `None` when the scores do not match the openers (an engine that
/// answered the wrong number of requests or continuations).
pub fn warmth(scores: &[Vec<ContinuationScore>], cfg: &WarmthSpec) -> Option<f64> {
    let n_warm = cfg.warm.len();
    if scores.len() != n_warm + cfg.distant.len() || n_warm == 0 || cfg.distant.is_empty() {
        return None;
    }
    let one = |s: &Vec<ContinuationScore>| match s.as_slice() {
        [c] if c.logprob.is_finite() => Some(c.logprob),
        _ => None,
    };
    let logliks: Vec<f64> = scores.iter().map(one).collect::<Option<_>>()?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Some(mean(&logliks[..n_warm]) - mean(&logliks[n_warm..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WarmthSpec {
        WarmthSpec {
            model: "default".into(),
            max_chars: 5,
            warm: vec!["My friend said,".into(), "My lover said,".into()],
            distant: vec!["The stranger said,".into()],
        }
    }

    fn s(logprob: f64) -> Vec<ContinuationScore> {
        vec![ContinuationScore {
            logprob,
            n_tokens: 3,
            n_bytes: 9,
            is_greedy: false,
        }]
    }

    #[test]
    fn the_reply_is_cut_on_a_character_boundary_and_quoted() {
        assert_eq!(quoted("  héllo wörld ", 7), " \"héllo w\"");
        assert_eq!(quoted("hi", 300), " \"hi\"");
        // A cut that ends in a space does not leave it inside the quotes.
        assert_eq!(quoted("hello world", 6), " \"hello\"");
        assert_eq!(quoted("", 300), " \"\"");
    }

    #[test]
    fn one_raw_request_per_opener_warm_first() {
        let r = requests("Hello there", &cfg());
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].prompt, Prompt::Raw("My friend said,".into()));
        assert_eq!(r[2].prompt, Prompt::Raw("The stranger said,".into()));
        assert!(r.iter().all(|r| r.continuations == [" \"Hello\""]));
        assert!(r.iter().all(|r| r.expected.is_none()));
    }

    #[test]
    fn warmth_is_the_difference_of_the_two_means() {
        // Warm mean (-10 + -12) / 2 = -11, distant -14: warmth +3 nats.
        let w = warmth(&[s(-10.0), s(-12.0), s(-14.0)], &cfg()).unwrap();
        assert!((w - 3.0).abs() < 1e-12);
        // Too few scores, or a non-finite one: no warmth rather than a wrong one.
        assert_eq!(warmth(&[s(-10.0), s(-12.0)], &cfg()), None);
        assert_eq!(warmth(&[s(-10.0), s(f64::NAN), s(-1.0)], &cfg()), None);
    }
}
