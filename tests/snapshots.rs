//! Answer snapshots (`snapshots: true` in a spec): written under insta's rules,
//! a changed answer fails the condition's `answers` trial, nothing is written on CI.

use std::path::Path;
use std::process::Command;

const SPEC: &str = "name: snap
description: Answer snapshots
source: Generated for candor's tests
license: Apache-2.0
data:
  path: data/items.jsonl
scoring:
  choice: {}
contexts: [none]
beliefs: [none]
snapshots: true
criteria:
  - max_error_increase: {tolerance_pp: 50, alpha: 0.05}
";

fn project() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let fixtures = Path::new("tests/fixtures");
    std::fs::create_dir_all(t.path().join("specs/data")).unwrap();
    std::fs::copy(
        fixtures.join("good/data/items.jsonl"),
        t.path().join("specs/data/items.jsonl"),
    )
    .unwrap();
    std::fs::write(t.path().join("specs/snap.yaml"), SPEC).unwrap();
    for sub in ["beliefs", "contexts", "personas"] {
        let dst = t.path().join("templates").join(sub);
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(fixtures.join("templates").join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    std::fs::write(t.path().join("candor.yaml"), "specs: specs/*.yaml\n").unwrap();
    t
}

/// candor in `dir` on the fake baseline against `candidate`, no personas, no store.
fn command(dir: &Path, candidate: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_candor"));
    c.current_dir(dir)
        .env_remove("CI")
        .env_remove("INSTA_UPDATE")
        .env("NO_COLOR", "1")
        .args([
            "--full",
            "--no-cache",
            "--baseline",
            "fake:base?flip=0.1",
            "--baseline-persona",
            "none",
            "--candidate",
            candidate,
            "--candidate-persona",
            "none",
        ]);
    c
}

fn run(dir: &Path, candidate: &str, envs: &[(&str, &str)]) -> (i32, String) {
    let mut c = command(dir, candidate);
    for (k, v) in envs {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// What libtest printed for a trial (`ok`, `FAILED`, `ignored`).
fn status<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| {
            l.strip_prefix("test ")
                .is_some_and(|r| r.split_whitespace().next() == Some(name))
        })
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("")
}

#[test]
fn answers_are_snapshotted_and_a_change_fails_its_trial() {
    let p = project();
    let snap = p.path().join("snapshots/snap__none__none.snap");
    // First run, accepting: the snapshot holds one line per model and item.
    let (code, out) = run(
        p.path(),
        "fake:base?flip=0.1",
        &[("INSTA_UPDATE", "always")],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(status(&out, "snap::none::none::answers"), "ok", "{out}");
    let text = std::fs::read_to_string(&snap).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("baseline "))
            && text.lines().any(|l| l.starts_with("candidate ")),
        "{text}"
    );
    // The same models again: the snapshot matches.
    let (code, out) = run(p.path(), "fake:base?flip=0.1", &[("INSTA_UPDATE", "no")]);
    assert_eq!(code, 0, "{out}");
    // A candidate that answers differently: the answers trial fails, and with
    // INSTA_UPDATE=no nothing is written.
    let (code, out) = run(p.path(), "fake:base?flip=0.4", &[("INSTA_UPDATE", "no")]);
    assert_eq!(code, 101, "{out}");
    assert!(
        status(&out, "snap::none::none::answers") == "FAILED" && out.contains("cargo insta review"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&snap).unwrap(), text);
    // On CI, nothing is written either, not even a pending `.snap.new`.
    let (code, _) = run(p.path(), "fake:base?flip=0.4", &[("CI", "true")]);
    assert_eq!(code, 101);
    let names: Vec<String> = std::fs::read_dir(p.path().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["snap__none__none.snap".to_string()],
        "{names:?}"
    );
}

#[test]
fn answers_trials_are_listed_and_selected_exactly() {
    let p = project();
    let bin = || {
        let mut c = command(p.path(), "fake:base?flip=0.1");
        c.env("INSTA_UPDATE", "always");
        c
    };
    let out = bin().arg("--list").output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains("snap::none::none::answers: test"),
        "{listed}"
    );
    // `--exact` on the listed name runs exactly that trial, and it ran.
    let out = bin()
        .args(["--exact", "snap::none::none::answers"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(status(&text, "snap::none::none::answers"), "ok", "{text}");
    assert!(text.contains("1 passed"), "{text}");
    assert!(p.path().join("snapshots/snap__none__none.snap").is_file());
    // A filter that selects nothing is an error, not a green run.
    let out = bin()
        .args(["--exact", "snap::none::none::answer"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no trial matches `snap::none::none::answer` exactly"),
        "{err}"
    );
}
