//! The fine-tuning data (training/data/*.jsonl) passes its checker: the three
//! replies of every conversation state the same numbers and named entities,
//! the styles keep their limits, and no shipped probe question (or a near
//! paraphrase) appears. The checker is Python's standard library only, like
//! the provisioning candor already does through `python3`; its self-test
//! shows it catches each fault it looks for.

use std::process::Command;

fn checker(args: &[&str]) -> (bool, String) {
    let out = Command::new("python3")
        .arg("scripts/check_training_data.py")
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
fn the_training_data_passes_its_checker() {
    let (ok, text) = checker(&[]);
    assert!(ok, "{text}");
    assert!(text.contains("conversations OK"), "{text}");
}
