//! Answer snapshots: per suite and condition, each model's answers as an insta
//! snapshot under `snapshots/`, so a changed answer is a diff to review with
//! `cargo insta review`. insta's own rules decide what is written
//! (`INSTA_UPDATE`; nothing is written on CI).

use super::results::RunResults;
use std::collections::BTreeMap;
use std::path::Path;

/// The snapshot text of each (suite, context, belief) of the suites that opted in.
pub fn texts(
    results: &RunResults,
    suites: &[String],
) -> BTreeMap<(String, String, String), String> {
    let mut out: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for s in results.samples.iter().filter(|s| suites.contains(&s.suite)) {
        let text = out
            .entry((s.suite.clone(), s.context.clone(), s.belief.clone()))
            .or_default();
        // Answers are on one line each, so a diff shows exactly which item changed.
        let answer = s.answer.replace('\n', "\\n");
        let verdict = serde_json::to_value(s.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!("{} {}: {answer} [{verdict}]\n", s.model, s.item));
    }
    out
}

/// A condition's answers that differ from their snapshot (the trial's failure message).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

/// Compares each text with its snapshot in `dir`; the name of the trial it belongs to and
/// whether it matched.
pub fn check(
    results: &RunResults,
    suites: &[String],
    dir: &Path,
) -> Vec<(String, Result<(), Mismatch>)> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let mut out = vec![];
    for ((suite, context, belief), text) in texts(results, suites) {
        let name = format!("{suite}__{context}__{belief}");
        // insta reports a mismatch by panicking (and prints its diff first).
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(name.as_str(), text));
        }));
        std::panic::set_hook(hook);
        let trial = format!("{suite}::{context}::{belief}::answers");
        out.push((
            trial,
            r.map_err(|_| {
                Mismatch(format!(
                    "answers differ from snapshots/{name}.snap (or it does not exist yet): review with `cargo insta review`, \
                     or accept with INSTA_UPDATE=always"
                ))
            }),
        ));
    }
    out
}
