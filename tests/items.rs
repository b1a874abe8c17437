//! Every shipped item, checked through candor's own loader and prompt stage:
//! unique ids, non-empty questions and answers, a stated wrong belief that is
//! really wrong (after candor's own normalisation) and is one of the options,
//! license and source on every suite, and every data file accounted for in
//! `NOTICE` or `specs/data/README.md` (third-party data in `NOTICE`, with its
//! license).

use candor::prompt::text::normalize;
use candor::spec::{Scoring, Suite};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The seed the shipped runs use (from `candor.yaml`), which decides the stated
/// belief of items that do not name one.
fn project_seed() -> u64 {
    std::fs::read_to_string("candor.yaml")
        .ok()
        .and_then(|s| candor::spec::yaml::parse_config(&s).ok())
        .and_then(|c| c.seed)
        .unwrap_or(0)
}

fn shipped() -> candor::run::Prepared {
    let specs = vec!["specs/*.yaml".to_string()];
    match candor::run::prepare(&specs, "templates".into(), None, project_seed()) {
        Ok(p) => p,
        Err(diags) => {
            let all: Vec<String> = diags.iter().map(|d| format!("{d:?}")).collect();
            panic!("shipped specs do not load:\n{}", all.join("\n"));
        }
    }
}

/// Whether a suite states a wrong belief in any of its conditions.
fn uses_beliefs(s: &Suite) -> bool {
    s.beliefs.iter().any(|b| b != "none" && b != "bridge")
}

#[test]
fn every_shipped_item_is_well_formed() {
    let prep = shipped();
    assert!(!prep.suites.is_empty(), "no shipped suites");
    let mut problems: Vec<String> = Vec::new();
    for suite in &prep.suites {
        let mut bad = |item: &str, what: String| {
            problems.push(format!("{} item `{item}`: {what}", suite.name));
        };
        assert!(
            !suite.license.trim().is_empty(),
            "{}: no license",
            suite.name
        );
        assert!(!suite.source.trim().is_empty(), "{}: no source", suite.name);
        assert!(!suite.items.is_empty(), "{}: no items", suite.name);
        let choice = matches!(suite.scoring, Scoring::Choice(_));
        let measures_only = matches!(
            &suite.scoring,
            Scoring::Generate(g) if g.match_mode == candor::spec::MatchMode::None
        );
        let needs_incorrect = choice || uses_beliefs(suite);

        // The stated belief and its option, as the prompt stage chose them.
        let plan = prep
            .plans
            .iter()
            .find(|p| p.suite == suite.name)
            .expect("every suite is planned");
        assert_eq!(plan.n_items, suite.items.len(), "{}", suite.name);
        let (_, cases) = plan
            .conditions
            .iter()
            .find(|(c, _)| c.belief != "none" && c.belief != "bridge")
            .or_else(|| plan.conditions.first())
            .expect("a suite has at least one condition");
        assert_eq!(cases.len(), suite.items.len());

        let mut ids = HashSet::new();
        let (mut answers, mut wrong, mut beliefs) = (0, 0, 0);
        for (item, case) in suite.items.iter().zip(cases) {
            assert_eq!(suite.items[case.item].id, item.id);
            if !ids.insert(item.id.as_str()) {
                bad(&item.id, "duplicate id".into());
            }
            if item.question.trim().is_empty() {
                bad(&item.id, "empty question".into());
            }
            // A suite that only measures (warmth, `match: none`) has no answers.
            if item.correct.is_empty() && !measures_only {
                bad(&item.id, "no correct answer".into());
            }
            for c in &item.correct {
                if normalize(c).is_empty() {
                    bad(&item.id, format!("empty correct answer {c:?}"));
                }
            }
            answers += item.correct.len();
            if needs_incorrect && item.incorrect.is_empty() {
                bad(&item.id, "no incorrect answer".into());
            }
            for w in &item.incorrect {
                if normalize(w).is_empty() {
                    bad(&item.id, format!("empty incorrect answer {w:?}"));
                }
                if item.correct.iter().any(|c| normalize(c) == normalize(w)) {
                    bad(
                        &item.id,
                        format!("{w:?} is listed as correct and incorrect"),
                    );
                }
            }
            wrong += item.incorrect.len();
            if !needs_incorrect {
                continue;
            }
            let Some(belief) = case.stated_belief.as_deref() else {
                bad(&item.id, "no stated belief".into());
                continue;
            };
            beliefs += 1;
            let b = normalize(belief);
            if b.is_empty() {
                bad(&item.id, format!("empty stated belief {belief:?}"));
            }
            for c in &item.correct {
                if normalize(c) == b {
                    bad(
                        &item.id,
                        format!("stated belief {belief:?} equals correct answer {c:?}"),
                    );
                }
            }
            // Under choice scoring, agreement with the belief is recorded through
            // the option it maps to: it must map to an incorrect one.
            if choice {
                match case.belief_option {
                    Some(o) if !case.option_correct[o] => {}
                    Some(o) => bad(
                        &item.id,
                        format!("stated belief {belief:?} maps to correct option {o}"),
                    ),
                    None => bad(
                        &item.id,
                        format!("stated belief {belief:?} matches no incorrect option"),
                    ),
                }
            }
        }
        eprintln!(
            "{:<15} {:>4} items ({} unique ids), {:>4} correct answers and aliases, {:>4} incorrect answers, {:>4} stated beliefs checked; {} conditions; license {}",
            suite.name,
            suite.items.len(),
            ids.len(),
            answers,
            wrong,
            beliefs,
            suite.contexts.len() * suite.beliefs.len(),
            suite.license,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One row of the file table in `specs/data/README.md`.
struct DataRow {
    items: usize,
    provenance: String,
    license: String,
}

fn readme_rows(readme: &str) -> BTreeMap<String, DataRow> {
    let mut rows = BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() != 5 {
            continue;
        }
        let Some(file) = cells[0].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
            continue;
        };
        let Ok(items) = cells[1].parse() else {
            continue;
        };
        rows.insert(
            file.to_string(),
            DataRow {
                items,
                provenance: cells[3].to_string(),
                license: cells[4].to_string(),
            },
        );
    }
    rows
}

/// The license text NOTICE must carry for an SPDX identifier.
fn license_text(spdx: &str) -> &str {
    match spdx {
        "Apache-2.0" => "Apache License, Version 2.0",
        "MIT" => "MIT License",
        other => other,
    }
}

#[test]
fn every_data_file_is_attributed_with_its_license() {
    let notice = std::fs::read_to_string("NOTICE").expect("a NOTICE file");
    let readme = std::fs::read_to_string("specs/data/README.md").expect("specs/data/README.md");
    let rows = readme_rows(&readme);
    let paths = candor::spec::expand_globs(&["specs/*.yaml".into()]).unwrap();
    let suites = candor::spec::load_all(&paths).unwrap_or_else(|d| panic!("{d:?}"));
    let mut checked = 0;
    for (path, suite) in paths.iter().zip(&suites) {
        assert_eq!(Path::new(&suite.path), path.as_path());
        let text = std::fs::read_to_string(path).unwrap();
        let raw = candor::spec::yaml::parse_suite(&text).unwrap();
        let Some(data) = raw.data else { continue };
        let file: PathBuf = path.parent().unwrap().join(&data.path);
        assert!(file.is_file(), "{}: {} missing", suite.name, file.display());
        let shown = file
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let row = rows.get(&name);
        let in_notice = notice.contains(&shown);
        assert!(
            row.is_some() || in_notice,
            "{}: data file {shown} is listed neither in NOTICE nor in specs/data/README.md",
            suite.name
        );
        let Some(row) = row else { continue };
        assert_eq!(
            row.license, suite.license,
            "{}: specs/data/README.md gives {name} license {}, the spec {}",
            suite.name, row.license, suite.license
        );
        if data.categories.is_none() {
            assert_eq!(
                row.items,
                suite.items.len(),
                "{}: specs/data/README.md says {name} has {} items",
                suite.name,
                row.items
            );
        }
        let third_party = !row.provenance.to_lowercase().contains("written for candor");
        if third_party {
            let upstream = row
                .provenance
                .split(|c: char| c == ',' || c.is_whitespace())
                .next()
                .unwrap();
            assert!(
                in_notice,
                "{}: third-party data {shown} ({}) is not listed in NOTICE",
                suite.name, row.provenance
            );
            // NOTICE's section for the upstream names its license.
            let section = notice
                .split("-------")
                .find(|s| s.contains(upstream) && s.contains(&shown))
                .unwrap_or_else(|| panic!("NOTICE has no {upstream} section naming {shown}"));
            assert!(
                section.contains(license_text(&suite.license)),
                "NOTICE's {upstream} section does not state {}",
                license_text(&suite.license)
            );
        }
        eprintln!(
            "{:<15} {shown}: {} items, {} ({}), {}",
            suite.name,
            suite.items.len(),
            row.provenance,
            row.license,
            if third_party {
                "attributed in NOTICE"
            } else {
                "own data"
            }
        );
        checked += 1;
    }
    assert!(checked > 0, "no spec reads a data file");
}
