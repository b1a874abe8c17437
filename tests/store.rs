//! The run store under stress, through the binary on slow fake models: a run
//! killed with SIGKILL resumes from what it stored and ends with the same
//! results as an uninterrupted run; two runs share one store at once.

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BASE: &str = "fake:base?flip=0.1";
const PLANTED: &str = "fake:base?flip=0.1&extra=0.15&when=sad";

/// Run arguments: 100 items × 6 conditions per model; `delay_ms` per request.
fn args(delay_ms: u64, store: Option<&Path>, report: &Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "--limit",
        "100",
        "--baseline",
        &format!("{BASE}&delay_ms={delay_ms}"),
        "--candidate",
        &format!("{PLANTED}&delay_ms={delay_ms}"),
        "--candidate-persona",
        "none",
        "--report-dir",
        report.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match store {
        Some(s) => a.extend(["--store".into(), s.to_str().unwrap().to_string()]),
        None => a.push("--no-cache".into()),
    }
    a
}

fn spawn(args: &[String], home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .current_dir("tests/fixtures")
        .env("NO_COLOR", "1")
        .env("CANDOR_HOME", home)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    )
}

/// Responses in the store, reading without creating it.
fn stored(store: &Path) -> Option<i64> {
    let c = Connection::open_with_flags(store, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.busy_timeout(Duration::from_secs(5)).ok()?;
    c.query_row("SELECT COUNT(*) FROM responses", [], |r| r.get(0))
        .ok()
}

/// `reused N of M responses` from a run's stderr.
fn reused(log: &str) -> (usize, usize) {
    let line = log
        .lines()
        .find(|l| l.contains("reused"))
        .unwrap_or_else(|| panic!("no reuse line in:\n{log}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "reused").unwrap();
    (
        words[at + 1].parse().unwrap(),
        words[at + 3].parse().unwrap(),
    )
}

/// What must not depend on how the run got its responses.
fn outcome(report: &Path) -> (String, serde_json::Value, serde_json::Value) {
    let samples = std::fs::read_to_string(report.join("samples.jsonl")).unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("results.json")).unwrap())
            .unwrap();
    (
        samples,
        results["trials"].clone(),
        results["suites"].clone(),
    )
}

fn integrity(store: &Path) -> String {
    Connection::open(store)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_killed_run_resumes_from_the_store_with_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = home.join("store.sqlite");
    // The reference: no store, no delay.
    let (code, log) = finish(spawn(&args(0, None, &home.join("reference")), home));
    assert_eq!(code, 101, "{log}");

    // 1200 requests at 2 ms: killed once some batches are stored.
    let mut child = spawn(&args(2, Some(&store), &home.join("killed")), home);
    let t = Instant::now();
    let at_kill = loop {
        match stored(&store) {
            Some(n) if n >= 192 => break n,
            _ if t.elapsed() > Duration::from_secs(20) => panic!("nothing stored in 20 s"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    child.kill().unwrap(); // SIGKILL
    let (code, _) = finish(child);
    assert_eq!(code, -1, "the run was not killed");
    assert!(!home.join("killed/results.json").exists());
    assert_eq!(integrity(&store), "ok");
    let kept = stored(&store).unwrap();
    assert!(kept >= at_kill && kept < 1200, "{kept} stored");

    let (code, log) = finish(spawn(&args(2, Some(&store), &home.join("resumed")), home));
    assert_eq!(code, 101, "{log}");
    let (n, m) = reused(&log);
    eprintln!("killed with {kept} responses stored; the rerun reused {n} of {m}");
    assert_eq!(m, 1200);
    assert!(
        n >= kept as usize && n < m,
        "reused {n} of {m}, {kept} stored"
    );
    assert_eq!(
        outcome(&home.join("resumed")),
        outcome(&home.join("reference"))
    );
    assert_eq!(integrity(&store), "ok");

    // Warm: nothing left to run.
    let (code, log) = finish(spawn(&args(2, Some(&store), &home.join("warm")), home));
    assert_eq!(code, 101, "{log}");
    assert_eq!(reused(&log), (1200, 1200));
    assert_eq!(
        outcome(&home.join("warm")),
        outcome(&home.join("reference"))
    );
}

#[test]
fn two_runs_share_one_store_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let store = home.join("store.sqlite");
    let (code, log) = finish(spawn(&args(0, None, &home.join("reference")), home));
    assert_eq!(code, 101, "{log}");
    let a = spawn(&args(1, Some(&store), &home.join("a")), home);
    let b = spawn(&args(1, Some(&store), &home.join("b")), home);
    let (ca, la) = finish(a);
    let (cb, lb) = finish(b);
    assert_eq!((ca, cb), (101, 101), "{la}\n{lb}");
    let reference = outcome(&home.join("reference"));
    assert_eq!(outcome(&home.join("a")), reference);
    assert_eq!(outcome(&home.join("b")), reference);
    assert_eq!(integrity(&store), "ok");
    // Every distinct request stored once.
    let after = stored(&store).unwrap();
    let (code, log) = finish(spawn(&args(0, Some(&store), &home.join("c")), home));
    assert_eq!(code, 101, "{log}");
    assert_eq!(reused(&log), (1200, 1200));
    assert_eq!(stored(&store).unwrap(), after);
}

#[test]
fn no_cache_touches_no_store_and_gc_empties_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (code, log) = finish(spawn(&args(0, None, &home.join("r")), home));
    assert_eq!(code, 101, "{log}");
    assert!(!log.contains("reused"), "{log}");
    assert!(!home.join("store.sqlite").exists());
    // The default store lives under CANDOR_HOME.
    let mut a = args(0, None, &home.join("r"));
    a.retain(|x| x != "--no-cache");
    let (code, log) = finish(spawn(&a, home));
    assert_eq!(code, 101, "{log}");
    assert!(home.join("store.sqlite").exists());
    let cmd = |args: &[&str]| {
        finish(spawn(
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            home,
        ))
    };
    let (code, out) = cmd(&["store", "stats"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("of 2 models"), "{out}");
    let (code, out) = cmd(&["store", "gc"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dropped 0 models"), "{out}");
    let (code, out) = cmd(&["store", "gc", "--days", "0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("dropped 2 models"), "{out}");
    let (_, out) = cmd(&["store", "stats"]);
    assert!(out.contains("0 responses of 0 models"), "{out}");
}
