//! The house's one direction, checked from its imports: each stage of src/
//! names only stages below it (spec → prompt → import → engine → score →
//! stats → store → run → report → cli), so there is no import circle and
//! nothing reaches up. A stage is a top-level module; a mention is any
//! `crate::STAGE` outside a comment.

use std::path::Path;

const ORDER: &[&str] = &[
    "spec", "prompt", "import", "engine", "score", "stats", "store", "run", "report", "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The stages `source` names through `crate::`, comments left out.
fn mentions(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push((i + 1, name));
        }
    }
    out
}

#[test]
fn every_stage_imports_only_stages_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    let mut checked = 0;
    for (level, stage) in ORDER.iter().enumerate() {
        let dir = src.join(stage);
        assert!(dir.is_dir(), "{}: the stage is missing", dir.display());
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (line, name) in mentions(&text) {
                checked += 1;
                match ORDER.iter().position(|s| *s == name) {
                    Some(l) if l > level => violations.push(format!(
                        "{}:{line}: {stage} imports {name}, a stage above it",
                        f.strip_prefix(&src).unwrap().display()
                    )),
                    _ => {}
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} crate:: paths found: is the scan broken?"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_scan_sees_imports_and_skips_comments() {
    let m = mentions("use crate::run::Output; // crate::report\n/// see [`crate::cli`]\nlet x = crate::spec::load(p);");
    let names: Vec<_> = m.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["run", "spec"]);
}
