//! The CI recipes users copy (docs/ci/) do what docs/ci.md says: run candor with
//! `--report-dir`, publish junit.xml as test results, put summary.md where the CI shows it,
//! cache `$CANDOR_HOME`, and keep publishing the reports when the gate fails. Their syntax is
//! checked by `scripts/lint_ci_recipes.sh` (the two CI schemas) in `.ci/run`.

use serde_norway::Value;

const REPORT: &str = "--report-dir candor-report";

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => serde_norway::to_string(other).unwrap(),
    }
}

/// `run:` with folded lines joined by single spaces.
fn command(step: &Value) -> String {
    text(&step["run"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn uses(step: &Value) -> String {
    text(&step["uses"])
}

fn always(step: &Value) -> bool {
    text(&step["if"]).starts_with("always()")
}

#[test]
fn github_workflow() {
    let wf = load("docs/ci/github-workflow.yml");
    let steps = wf["jobs"]["gate"]["steps"]
        .as_sequence()
        .expect("jobs.gate.steps");
    let find = |pred: &dyn Fn(&Value) -> bool, what: &str| -> usize {
        steps
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("no step {what}"))
    };

    for action in [
        "actions/checkout@",
        "dtolnay/rust-toolchain@",
        "actions/setup-python@",
    ] {
        find(&|s| uses(s).starts_with(action), action);
    }
    let build = find(&|s| command(s).contains("cargo build --release"), "builds");

    // The gate: candor on the pair, with the report directory.
    let gate = find(
        &|s| command(s).starts_with("target/release/candor") && command(s).contains(REPORT),
        "runs candor with --report-dir",
    );
    assert!(build < gate);
    let gate_cmd = command(&steps[gate]);
    assert!(gate_cmd.contains("--baseline \"$BASELINE\""), "{gate_cmd}");
    assert!(
        gate_cmd.contains("--candidate \"$CANDIDATE\""),
        "{gate_cmd}"
    );
    assert!(
        steps[gate].get("if").is_none(),
        "the gate runs unconditionally"
    );
    assert!(
        steps[gate].get("continue-on-error").is_none(),
        "a failing gate fails the job"
    );
    for var in ["BASELINE", "CANDIDATE"] {
        assert!(wf["env"][var].is_string(), "env.{var}");
    }

    // Every step after the gate runs when it fails.
    for s in &steps[gate + 1..] {
        assert!(always(s), "step {:?} must run `if: always()`", s["name"]);
    }
    let after = |pred: &dyn Fn(&Value) -> bool, what: &str| {
        let i = find(pred, what);
        assert!(i > gate, "{what} comes after the gate");
        i
    };

    after(
        &|s| text(&s["run"]).contains("cat candor-report/summary.md >> \"$GITHUB_STEP_SUMMARY\""),
        "writing summary.md to the job summary",
    );
    let junit = after(
        &|s| uses(s).starts_with("mikepenz/action-junit-report@"),
        "publishing junit.xml",
    );
    assert_eq!(
        text(&steps[junit]["with"]["report_paths"]),
        "candor-report/junit.xml"
    );
    let upload = after(
        &|s| uses(s).starts_with("actions/upload-artifact@"),
        "uploading the report",
    );
    assert_eq!(text(&steps[upload]["with"]["path"]), "candor-report/");

    // The caches: restored before the build and the gate, saved at the end whatever happened
    // (actions/cache alone would save only when the job succeeds).
    let home = find(
        &|s| text(&s["run"]).contains("CANDOR_HOME=") && text(&s["run"]).contains("$GITHUB_ENV"),
        "setting CANDOR_HOME",
    );
    assert!(home < gate);
    let restore_home = find(
        &|s| {
            uses(s).starts_with("actions/cache/restore@")
                && text(&s["with"]["path"]) == "${{ env.CANDOR_HOME }}"
        },
        "restoring $CANDOR_HOME",
    );
    assert!(home < restore_home && restore_home < gate);
    let key = text(&steps[restore_home]["with"]["key"]);
    assert!(
        key.contains("steps.home.outputs.version"),
        "keyed by candor's version: {key}"
    );
    assert!(
        key.contains("hashFiles("),
        "keyed by the model files: {key}"
    );
    assert!(
        key.contains("models/**") && key.contains("adapters/**"),
        "{key}"
    );
    let id = text(&steps[restore_home]["id"]);
    after(
        &|s| {
            uses(s).starts_with("actions/cache/save@")
                && text(&s["with"]["path"]) == "${{ env.CANDOR_HOME }}"
                && text(&s["with"]["key"])
                    .contains(&format!("steps.{id}.outputs.cache-primary-key"))
        },
        "saving $CANDOR_HOME",
    );
    let restore_cargo = find(
        &|s| {
            uses(s).starts_with("actions/cache/restore@")
                && text(&s["with"]["path"]).contains("target")
        },
        "restoring ~/.cargo and target",
    );
    assert!(restore_cargo < build);
    let paths = text(&steps[restore_cargo]["with"]["path"]);
    assert!(paths.contains("~/.cargo/registry"), "{paths}");
    after(
        &|s| uses(s).starts_with("actions/cache/save@") && text(&s["with"]["path"]) == paths,
        "saving ~/.cargo and target",
    );
    assert!(
        text(&wf["permissions"]["checks"]) == "write",
        "the test report needs checks: write"
    );
}

#[test]
fn gitlab_job() {
    let ci = load("docs/ci/gitlab-ci.yml");
    let job = &ci["candor"];
    assert!(
        text(&job["image"]).starts_with("rust:"),
        "an image with Rust"
    );
    let setup = text(&job["before_script"]);
    assert!(setup.contains("python3-pip"), "{setup}");
    assert!(setup.contains("cargo build --release"), "{setup}");

    let script = text(&job["script"]);
    assert!(script.contains("target/release/candor"), "{script}");
    assert!(script.contains(REPORT), "{script}");
    assert!(
        job.get("allow_failure").is_none(),
        "a failing gate fails the job"
    );
    for var in ["BASELINE", "CANDIDATE"] {
        assert!(job["variables"][var].is_string(), "variables.{var}");
    }

    // Reports even when the gate fails: after_script runs after a failed script, and the
    // artifacts are uploaded with `when: always`.
    assert!(text(&job["after_script"]).contains("cat candor-report/summary.md"));
    let artifacts = &job["artifacts"];
    assert_eq!(text(&artifacts["when"]), "always");
    assert_eq!(
        text(&artifacts["reports"]["junit"]),
        "candor-report/junit.xml"
    );
    assert!(text(&artifacts["paths"])
        .lines()
        .any(|p| p == "candor-report/"));
    assert!(
        artifacts["expose_as"].is_string(),
        "linked from the merge request"
    );

    // $CANDOR_HOME inside the project directory (GitLab caches nothing else), cached with
    // `when: always`, keyed by candor's version (Cargo.lock).
    let home = text(&job["variables"]["CANDOR_HOME"]);
    let rel = home
        .strip_prefix("$CI_PROJECT_DIR/")
        .expect("CANDOR_HOME under $CI_PROJECT_DIR");
    let caches = job["cache"].as_sequence().expect("cache: a list");
    let cache = caches
        .iter()
        .find(|c| {
            text(&c["paths"])
                .lines()
                .any(|p| p.trim_end_matches('/') == rel)
        })
        .expect("a cache of $CANDOR_HOME");
    assert_eq!(text(&cache["when"]), "always");
    assert!(text(&cache["key"]["files"])
        .lines()
        .any(|f| f == "Cargo.lock"));
    let cargo = caches
        .iter()
        .find(|c| text(&c["paths"]).lines().any(|p| p == "target/"))
        .expect("a cache of target/");
    assert_eq!(text(&cargo["when"]), "always");
}

#[test]
fn docs_name_both_recipes() {
    let doc = std::fs::read_to_string("docs/ci.md").unwrap();
    for needle in [
        "docs/ci/github-workflow.yml",
        "docs/ci/gitlab-ci.yml",
        "scripts/lint_ci_recipes.sh",
        "`if: always()`",
        "`when: always`",
        "101",
    ] {
        assert!(doc.contains(needle), "docs/ci.md does not mention {needle}");
    }
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(readme.contains("docs/ci.md"), "README.md links docs/ci.md");
}
