//! Report files from a run on fake models: every file is written, junit.xml
//! parses back with the right counts, and `candor report` re-renders
//! summary.md and junit.xml byte for byte from results.json.

use std::path::Path;
use std::process::Command;

const PLANTED: &str = "fake:base?flip=0.1&extra=0.15&when=sad";

fn candor(args: &[&str], home: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .current_dir("tests/fixtures")
        .env("NO_COLOR", "1")
        .env("CANDOR_HOME", home)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn planted_run(dir: &Path) -> (i32, String) {
    let report = dir.join("report");
    let (code, out, err) = candor(
        &[
            "--full",
            "--candidate",
            PLANTED,
            "--candidate-persona",
            "none",
            "--report-dir",
            report.to_str().unwrap(),
        ],
        dir,
    );
    (code, format!("{out}\n{err}"))
}

#[test]
fn a_run_writes_every_report_and_they_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (code, log) = planted_run(dir.path());
    assert_eq!(code, 101, "{log}");
    let report = dir.path().join("report");
    let read = |f: &str| std::fs::read_to_string(report.join(f)).unwrap();

    // results.json: versioned, with the run's metadata and every trial.
    let results: serde_json::Value = serde_json::from_str(&read("results.json")).unwrap();
    assert_eq!(results["schema_version"], 1);
    assert_eq!(results["candor"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(results["candidate"]["model"], PLANTED);
    assert_eq!(results["cases_per_model"], 1200);
    assert_eq!(results["totals"]["failed"], 5);
    assert_eq!(results["totals"]["passed"], 14);
    assert_eq!(results["trials"].as_array().unwrap().len(), 19);
    assert_eq!(
        results["suites"][0]["conditions"].as_array().unwrap().len(),
        6
    );

    // samples.jsonl: a line per item × condition × model.
    let samples = read("samples.jsonl");
    assert_eq!(samples.lines().count(), 2 * 1200);
    let first: serde_json::Value = serde_json::from_str(samples.lines().next().unwrap()).unwrap();
    for key in [
        "suite", "item", "context", "belief", "model", "prompt", "answer", "verdict",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert!(first["scores"].as_array().is_some_and(|s| !s.is_empty()));

    // junit.xml parses back: a testcase per trial, a failure per failed gate.
    let junit = quick_junit::Report::deserialize_from_str(&read("junit.xml")).unwrap();
    assert_eq!(junit.tests, 19);
    assert_eq!(junit.failures, 5);
    let failed: Vec<_> = junit
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter_map(|c| match &c.status {
            quick_junit::TestCaseStatus::NonSuccess { description, .. } => {
                Some((c.name.as_str().to_string(), description.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 5);
    assert!(failed
        .iter()
        .any(|(n, d)| n == "arith::sadness::none::max_error_increase"
            && d.as_ref().is_some_and(|d| d.contains("top flipped items"))));

    // summary.md: the verdict and the failing tables.
    let summary = read("summary.md");
    assert!(
        summary.starts_with("# candor: 5 of 19 gates failed"),
        "{summary}"
    );
    assert!(summary.contains("### `arith::sadness::none::max_error_increase`"));

    // report.html: self-contained, with the plots and the table.
    let html = read("report.html");
    assert!(html.contains("<svg") && html.contains("Newcombe") && html.contains("Wilson"));
    assert!(html.contains("arith::sadness::none::max_error_increase"));
    for external in ["src=\"http", "href=\"http", "<link", "@import"] {
        assert!(!html.contains(external), "external asset: {external}");
    }

    // Re-rendered from results.json: byte-identical.
    for (format, file) in [
        ("summary", "summary.md"),
        ("junit", "junit.xml"),
        ("html", "report.html"),
        ("json", "results.json"),
    ] {
        let out = dir.path().join(format!("again.{format}"));
        let (code, _, err) = candor(
            &[
                "report",
                report.join("results.json").to_str().unwrap(),
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(report.join(file)).unwrap(),
            "{file} re-rendered differs"
        );
    }
}

#[test]
fn report_rejects_a_foreign_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("results.json");
    std::fs::write(&bad, r#"{"schema_version": 99}"#).unwrap();
    let (code, _, err) = candor(&["report", bad.to_str().unwrap()], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("schema version 99"), "{err}");
}

#[test]
fn progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .current_dir("tests/fixtures")
        .env("CANDOR_HOME", dir.path())
        // A line after every batch (the default is every 10 s).
        .env("CANDOR_PROGRESS_SECS", "0")
        .args(["--limit", "100", "--no-cache", "--candidate", PLANTED])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("candor: baseline ") && l.contains(" cases ("))
        .collect();
    assert!(!lines.is_empty(), "{err}");
    // The first line comes after the first batch of a 100-item condition.
    let first = candor::run::work::BATCH.min(100);
    assert!(
        lines[0].starts_with(&format!("candor: baseline {first}/600 cases (")),
        "{err}"
    );
    assert!(lines[0].contains("/s, ETA "), "{err}");
    assert!(err.contains("candor: candidate "), "{err}");
}
