//! The warmth suite's prompts (specs/data/warmth.jsonl) pass their checker:
//! ids, fields and categories, and no prompt (or near paraphrase) that is a
//! user message of the fine-tuning data or a question of another suite, nor
//! two prompts alike. The checker is Python's standard library only, like
//! scripts/check_training_data.py; its self-test shows it catches each fault
//! it looks for.

use std::process::Command;

fn checker(args: &[&str]) -> (bool, String) {
    let out = Command::new("python3")
        .arg("scripts/check_warmth_data.py")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_checker_catches_what_it_looks_for() {
    let (ok, text) = checker(&["--self-test"]);
    assert!(ok, "{text}");
}

#[test]
fn the_warmth_prompts_pass_their_checker() {
    let (ok, text) = checker(&[]);
    assert!(ok, "{text}");
    assert!(text.contains("100 prompts OK"), "{text}");
}

/// The shipped suite loads: 100 prompts, no verdicts, the default openers.
#[test]
fn the_shipped_suite_measures_warmth_only() {
    let suite = candor::spec::load(std::path::Path::new("specs/warmth.yaml"))
        .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(suite.items.len(), 100);
    let w = suite.warmth.as_ref().expect("a warmth section");
    assert_eq!(w.model, "default");
    assert_eq!(w.max_chars, 300);
    assert_eq!(w.warm, candor::spec::DEFAULT_WARM_OPENERS);
    assert_eq!(w.distant, candor::spec::DEFAULT_DISTANT_OPENERS);
    assert!(suite.criteria.iter().all(|c| !c.kind.needs_verdicts()));
    assert_eq!(suite.contexts, ["none"]);
}
