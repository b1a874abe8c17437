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
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let file = concat!(stringify!($name), ".yaml");
            insta::assert_snapshot!(stringify!($name), rendered(file));
        }
    )*};
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
);

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
