//! Every bad-spec fixture fails to load with a positioned, rendered error
//! (snapshotted), and none panics.

use candor::report::render_diagnostic;
use std::path::PathBuf;

const TEMPLATES: &str = "tests/fixtures/templates";

fn rendered(file: &str) -> String {
    let path = format!("tests/fixtures/bad/{file}");
    let result = std::panic::catch_unwind(|| {
        candor::run::prepare(
            std::slice::from_ref(&path),
            PathBuf::from(TEMPLATES),
            None,
            0,
        )
    });
    let Ok(result) = result else {
        panic!("{file}: loading panicked")
    };
    let Err(diags) = result else {
        panic!("{file}: loaded without an error")
    };
    let out: Vec<String> = diags.iter().map(|d| render_diagnostic(d, false)).collect();
    // Paths are relative already (cargo runs tests from the package root); normalise separators.
    out.join("\n").replace('\\', "/")
}

macro_rules! bad {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let file = concat!(stringify!($name), ".yaml");
                insta::assert_snapshot!(stringify!($name), rendered(file));
            }
        )*
        /// The fixtures that have a snapshot test.
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

bad!(
    yaml_syntax,
    wrong_type,
    unknown_field,
    missing_template,
    template_syntax,
    undefined_variable,
    template_undefined_list,
    empty_items,
    duplicate_ids,
    duplicate_ids_in_data,
    threshold_out_of_range,
    alpha_out_of_range,
    unknown_context,
    missing_data_file,
    missing_csv_column,
    invalid_jsonl,
    invalid_name,
    two_scoring_methods,
    missing_license,
    gap_reference_not_run,
    zero_min_items,
    raw_and_answer_prefix,
    raw_template_syntax,
    raw_template_undefined,
    data_outside_project,
    data_absolute_path,
    context_typo,
    warmth_with_choice,
    warmth_gate_without_section,
    match_none_error_gate,
    warmth_empty_openers,
    warmth_unknown_key,
    warmth_negative_margin,
    warmth_opener_both_sides,
    warmth_no_value,
);

fn names_in(dir: &str, prefix: &str, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f.strip_prefix(prefix)?
                .strip_suffix(suffix)
                .map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_has_a_test_and_every_snapshot_a_fixture() {
    let mut tested: Vec<String> = TESTED.iter().map(|s| s.to_string()).collect();
    tested.sort();
    assert_eq!(names_in("tests/fixtures/bad", "", ".yaml"), tested);
    assert_eq!(
        names_in("tests/snapshots", "bad_specs__", ".snap"),
        tested,
        "a snapshot without a fixture, or a fixture without a snapshot"
    );
}

/// Every diagnostic points at the offending token: none at the start of a
/// file unless the token is there, and none with an empty caret.
#[test]
fn no_diagnostic_falls_back_to_the_start_of_the_file() {
    for name in TESTED {
        let path = format!("tests/fixtures/bad/{name}.yaml");
        let diags = candor::run::prepare(
            std::slice::from_ref(&path),
            PathBuf::from(TEMPLATES),
            None,
            0,
        )
        .err()
        .unwrap_or_else(|| panic!("{name}: loaded"));
        for d in diags {
            assert!(d.len > 0, "{name}: an empty caret: {d}");
            if (d.line, d.column) == (1, 1) {
                let text = d.source.as_deref().unwrap_or("");
                let token = &text[..d.len.min(text.len())];
                assert!(
                    !token.trim().is_empty() && !token.ends_with(':'),
                    "{name}: a diagnostic at 1:1 that is not about the token there: {d}"
                );
            }
        }
    }
    // And nothing in the code searches the text or falls back to 1:1.
    for file in ["src/spec/mod.rs", "src/spec/data.rs", "src/prompt/mod.rs"] {
        let code = std::fs::read_to_string(file).unwrap();
        assert!(
            !code.contains("unwrap_or((0, 1))") && !code.contains("locate("),
            "{file} searches for locations again"
        );
    }
}

#[test]
fn every_fixture_is_covered_and_all_errors_are_reported_together() {
    let files: Vec<String> = std::fs::read_dir("tests/fixtures/bad")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    assert!(files.len() >= 15);
    let all: Vec<String> = files
        .iter()
        .map(|f| format!("tests/fixtures/bad/{f}"))
        .collect();
    let diags = candor::run::prepare(&all, PathBuf::from(TEMPLATES), None, 0)
        .err()
        .expect("invalid");
    // Every file with a load-time error is reported, not only the first.
    let mut reported: Vec<String> = diags.iter().map(|d| d.file.display().to_string()).collect();
    reported.sort();
    reported.dedup();
    assert!(reported.len() >= 12, "{reported:?}");
}

/// The good side of `prompt:`: a raw template renders the whole prompt (the persona
/// opens it), an answer prefix opens the assistant's reply, and both put one space
/// before every option; `pair` offers the best answer and the stated belief.
#[test]
fn prompt_formats_and_pair_options_render_as_documented() {
    use candor::engine::{Message, Prompt};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, prompt: &str| {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "name: {name}\nsource: tests\nlicense: Apache-2.0\nitems:\n  - id: a\n    question: Capital of France?\n    correct: [Paris]\n    incorrect: [Lyon, Nice, Lille]\n    belief: Nice\n{prompt}scoring:\n  choice: {{options: pair}}\ncontexts: [none]\nbeliefs: [incorrect]\ncriteria:\n  - min_items: {{n: 1}}\n"
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    let specs = [
        write("raw", "prompt:\n  raw: \"Q: {{ user }}\\nA:\"\n"),
        write("prefixed", "prompt:\n  answer_prefix: \"Answer:\"\n"),
        write("chat", ""),
    ];
    let p = candor::run::prepare(&specs, PathBuf::from(TEMPLATES), None, 0).unwrap();
    let case = |i: usize| p.plans[i].conditions[0].1[0].clone();
    let prefix = |i: usize| match &p.suites[i].scoring {
        candor::spec::Scoring::Choice(c) => c.option_prefix.clone(),
        _ => unreachable!(),
    };
    let (raw, prefixed, chat) = (case(0), case(1), case(2));
    for c in [&raw, &prefixed, &chat] {
        assert_eq!(c.options, ["Paris", "Nice"]);
        assert_eq!(c.belief_option, Some(1));
    }
    let Prompt::Raw(text) = raw.prompt(Some("Be kind.")) else {
        panic!("raw suite gave a chat prompt")
    };
    assert!(text.starts_with("Be kind.\n\nQ: "), "{text}");
    assert!(
        text.contains("Capital of France?") && text.ends_with("\nA:"),
        "{text}"
    );
    assert_eq!(
        prefixed.prompt(None),
        Prompt::Chat(vec![
            Message::new("user", prefixed.user.clone()),
            Message::new("assistant", "Answer:"),
        ])
    );
    assert_eq!(
        chat.prompt(None),
        Prompt::Chat(vec![Message::new("user", chat.user.clone())])
    );
    assert_eq!(
        (prefix(0), prefix(1), prefix(2)),
        (" ".into(), " ".into(), String::new())
    );
}
