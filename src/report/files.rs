//! Reporters that write files, all rendering one [`RunResults`].

use crate::run::results::RunResults;
use std::path::Path;

/// One output format.
pub trait Reporter {
    /// The file it writes under `--report-dir`.
    fn file_name(&self) -> &'static str;
    /// The file's content. A reporter reads nothing but `results`.
    fn render(&self, results: &RunResults) -> String;
}

/// `results.json`: the results value itself (schema: `docs/results-schema.md`).
pub struct Json;
/// `samples.jsonl`: a line per item × condition × model.
pub struct Samples;
/// `junit.xml`: a testcase per trial.
pub struct Junit;
/// `summary.md`: for a pull request or a CI step summary.
pub struct Summary;
/// `report.html`: self-contained, with SVG plots.
pub struct Html;

impl Reporter for Json {
    fn file_name(&self) -> &'static str {
        "results.json"
    }
    fn render(&self, r: &RunResults) -> String {
        serde_json::to_string_pretty(r).expect("results serialise") + "\n"
    }
}

impl Reporter for Samples {
    fn file_name(&self) -> &'static str {
        "samples.jsonl"
    }
    fn render(&self, r: &RunResults) -> String {
        let mut out = String::new();
        for s in &r.samples {
            out.push_str(&serde_json::to_string(s).expect("samples serialise"));
            out.push('\n');
        }
        out
    }
}

impl Reporter for Junit {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }
    fn render(&self, r: &RunResults) -> String {
        super::junit::render(r)
    }
}

impl Reporter for Summary {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }
    fn render(&self, r: &RunResults) -> String {
        super::summary::render(r)
    }
}

impl Reporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }
    fn render(&self, r: &RunResults) -> String {
        super::html::render(r)
    }
}

/// The formats `candor report` re-renders from `results.json` (samples are not in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Summary,
    Junit,
    Html,
    Json,
}

impl Format {
    pub fn reporter(self) -> Box<dyn Reporter> {
        match self {
            Format::Summary => Box::new(Summary),
            Format::Junit => Box::new(Junit),
            Format::Html => Box::new(Html),
            Format::Json => Box::new(Json),
        }
    }
}

/// Every file reporter.
pub fn all() -> Vec<Box<dyn Reporter>> {
    vec![
        Box::new(Json),
        Box::new(Samples),
        Box::new(Junit),
        Box::new(Summary),
        Box::new(Html),
    ]
}

/// A report that could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Results {
        path: std::path::PathBuf,
        source: crate::run::results::ResultsError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes every report into `dir` (created if needed).
pub fn write_all(dir: &Path, results: &RunResults) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for r in all() {
        let path = dir.join(r.file_name());
        std::fs::write(&path, r.render(results)).map_err(io(&path))?;
    }
    Ok(())
}

/// `candor report`: re-renders one format from a `results.json`.
pub fn rerender(
    results_json: &Path,
    format: Format,
    out: Option<&Path>,
) -> Result<(), ReportError> {
    let text = std::fs::read_to_string(results_json).map_err(io(results_json))?;
    let results = RunResults::from_json(&text).map_err(|source| ReportError::Results {
        path: results_json.to_path_buf(),
        source,
    })?;
    let rendered = format.reporter().render(&results);
    match out {
        Some(p) => std::fs::write(p, rendered).map_err(io(p)),
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(rendered.as_bytes())
                .map_err(io(Path::new("stdout")))
        }
    }
}
