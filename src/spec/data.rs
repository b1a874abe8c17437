//! Items from data files (JSONL, CSV, YAML) through a field mapping.

// Diagnostics are large but only on the cold, failing path.
#![allow(clippy::result_large_err)]

use super::diag::Diagnostic;
use super::raw::{DataFormat, RawData};
use super::spans::Spans;
use super::yaml;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Looks a column/key up in one record.
pub type Getter = Box<dyn Fn(&str) -> Option<Field>>;

/// One record, read from a data file, with the line it started on.
pub struct Record {
    pub line: usize,
    pub get: Getter,
}

/// A field value as found in the file.
#[derive(Debug, Clone)]
pub enum Field {
    Text(String),
    List(Vec<String>),
}

impl Field {
    pub fn into_text(self) -> String {
        match self {
            Field::Text(s) => s,
            Field::List(v) => v.join("; "),
        }
    }
    pub fn into_list(self, separator: &str) -> Vec<String> {
        match self {
            Field::List(v) => v,
            Field::Text(s) if s.trim().is_empty() => Vec::new(),
            Field::Text(s) if separator.is_empty() => vec![s],
            Field::Text(s) => s
                .split(separator)
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        }
    }
}

/// The candor field names and the column/key each is read from.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub id: String,
    pub question: String,
    pub correct: String,
    pub incorrect: String,
    pub belief: String,
    pub regex: String,
    pub category: String,
    /// Which candor fields were mapped explicitly (these must exist).
    pub explicit: Vec<&'static str>,
}

impl Mapping {
    pub fn from_raw(raw: &RawData) -> Mapping {
        let f = raw.fields.as_ref();
        let mut explicit = Vec::new();
        let mut pick =
            |name: &'static str, v: Option<&Option<String>>| match v.and_then(|o| o.clone()) {
                Some(col) => {
                    explicit.push(name);
                    col
                }
                None => name.to_string(),
            };
        Mapping {
            id: pick("id", f.map(|f| &f.id)),
            question: pick("question", f.map(|f| &f.question)),
            correct: pick("correct", f.map(|f| &f.correct)),
            incorrect: pick("incorrect", f.map(|f| &f.incorrect)),
            belief: pick("belief", f.map(|f| &f.belief)),
            regex: pick("regex", f.map(|f| &f.regex)),
            category: pick("category", f.map(|f| &f.category)),
            explicit,
        }
    }

    pub fn column(&self, field: &str) -> &str {
        match field {
            "id" => &self.id,
            "question" => &self.question,
            "correct" => &self.correct,
            "incorrect" => &self.incorrect,
            "belief" => &self.belief,
            "regex" => &self.regex,
            _ => &self.category,
        }
    }
}

/// A data file, read.
pub struct DataFile {
    pub path: PathBuf,
    pub source: String,
    pub format: DataFormat,
    pub records: Vec<Record>,
    /// CSV: the header's column names.
    pub columns: Option<Vec<String>>,
}

fn json_field(v: &Value) -> Option<Field> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Field::Text(s.clone())),
        Value::Number(n) => Some(Field::Text(n.to_string())),
        Value::Bool(b) => Some(Field::Text(b.to_string())),
        Value::Array(a) => Some(Field::List(
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        Value::Object(_) => Some(Field::Text(v.to_string())),
    }
}

fn object_record(line: usize, obj: serde_json::Map<String, Value>) -> Record {
    Record {
        line,
        get: Box::new(move |k| obj.get(k).and_then(json_field)),
    }
}

static ALLOW_OUTSIDE: AtomicBool = AtomicBool::new(false);

/// Lets specs read data files outside their project (`--allow-outside-data`).
/// Off by default: a contributed probe must not be able to read, say, a
/// private key into prompts that may be sent to a server.
pub fn allow_outside_data(allow: bool) {
    ALLOW_OUTSIDE.store(allow, Ordering::Relaxed);
}

/// The directory a spec's data files must stay in: the spec's project (the
/// nearest ancestor directory with a `candor.yaml`), else the spec's own directory.
fn data_root(spec_path: &Path) -> PathBuf {
    let dir = spec_path.parent().unwrap_or(Path::new(""));
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors()
        .find(|d| d.join("candor.yaml").is_file())
        .unwrap_or(&dir)
        .to_path_buf()
}

/// Why `data` (as the spec names it, joined to the spec's directory) leaves
/// the spec's project, if it does. Symbolic links are followed when the file
/// exists, so a link cannot lead outside either.
fn outside_project(spec_path: &Path, named: &str, joined: &Path) -> Option<String> {
    if ALLOW_OUTSIDE.load(Ordering::Relaxed) {
        return None;
    }
    let root = data_root(spec_path);
    // Shown relative to the working directory, as spec paths are.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| root.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map_or_else(
            || root.display().to_string(),
            |r| {
                if r.as_os_str().is_empty() {
                    ".".into()
                } else {
                    r.display().to_string()
                }
            },
        );
    if Path::new(named).is_absolute() {
        return Some(format!(
            "data path `{named}` is absolute: data files must be inside the project ({shown})"
        ));
    }
    let lexical = normalize(&std::path::absolute(joined).unwrap_or_else(|_| joined.to_path_buf()));
    let real = std::fs::canonicalize(joined).ok();
    let real_root = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let inside =
        lexical.starts_with(&root) && real.as_ref().is_none_or(|r| r.starts_with(&real_root));
    (!inside).then(|| format!("data path `{named}` leads outside the project ({shown})"))
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// Reads a data file named in a spec. Errors point into the spec (file missing)
/// or into the data file (bad content).
pub fn read(
    spec_path: &Path,
    spec_src: &str,
    spans: &Spans,
    raw: &RawData,
) -> Result<DataFile, Diagnostic> {
    let dir = spec_path.parent().unwrap_or(Path::new(""));
    let path = dir.join(&raw.path);
    let at_path = |message: String, label: &str| {
        let r = spans.value("data.path");
        Diagnostic::at_offset(spec_path, spec_src, r.start, r.len(), message, label)
    };
    if let Some(why) = outside_project(spec_path, &raw.path, &path) {
        return Err(at_path(
            why,
            "expected a path inside the project, relative to this spec (or run with --allow-outside-data)",
        ));
    }
    let format = match raw.format {
        Some(f) => f,
        None => match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") | Some("ndjson") => DataFormat::Jsonl,
            Some("csv") => DataFormat::Csv,
            Some("yaml") | Some("yml") => DataFormat::Yaml,
            _ => {
                return Err(at_path(
                    format!("cannot tell the format of data file `{}`", raw.path),
                    "expected a .jsonl, .csv or .yaml file, or a `format:` key",
                ));
            }
        },
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            return Err(at_path(
                format!(
                    "cannot read data file `{}`: {}",
                    path.display(),
                    io_reason(&e)
                ),
                "expected an existing file, relative to this spec",
            ));
        }
    };
    let (records, columns) = parse(&path, &source, format)?;
    Ok(DataFile {
        path,
        source,
        format,
        records,
        columns,
    })
}

/// The records of a data file's text, and for CSV its header; `path` names the
/// file in diagnostics.
pub fn parse(
    path: &Path,
    source: &str,
    format: DataFormat,
) -> Result<(Vec<Record>, Option<Vec<String>>), Diagnostic> {
    let records = match format {
        DataFormat::Jsonl => {
            let mut out = Vec::new();
            for (i, line) in source.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(Value::Object(obj)) => out.push(object_record(i + 1, obj)),
                    Ok(_) => {
                        return Err(Diagnostic::at_line(
                            path,
                            Some(source),
                            i + 1,
                            1,
                            line.len(),
                            "a JSONL line is not an object",
                            "expected one JSON object per line",
                        ));
                    }
                    Err(e) => {
                        return Err(Diagnostic::at_line(
                            path,
                            Some(source),
                            i + 1,
                            e.column(),
                            1,
                            format!("invalid JSON: {e}"),
                            "expected one JSON object per line",
                        ));
                    }
                }
            }
            out
        }
        DataFormat::Yaml => {
            let recs = yaml::parse_records(source).map_err(|e| {
                Diagnostic::at_offset(
                    path,
                    source,
                    e.index,
                    1,
                    e.message.clone(),
                    "expected a list of mappings",
                )
            })?;
            recs.into_iter()
                .map(|r| {
                    let obj: serde_json::Map<String, Value> = r.into_iter().collect();
                    let id_line = 1; // refined below by the caller's locate on ids
                    object_record(id_line, obj)
                })
                .collect()
        }
        DataFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(source.as_bytes());
            let headers: Vec<String> = match reader.headers() {
                Ok(h) => h.iter().map(str::to_string).collect(),
                Err(e) => {
                    return Err(Diagnostic::at_line(
                        path,
                        Some(source),
                        1,
                        1,
                        1,
                        format!("invalid CSV header: {e}"),
                        "expected a header row",
                    ))
                }
            };
            let mut out = Vec::new();
            for rec in reader.records() {
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(1, |p| p.line() as usize);
                        return Err(Diagnostic::at_line(
                            path,
                            Some(source),
                            line,
                            1,
                            1,
                            format!("invalid CSV: {e}"),
                            "expected a well-formed CSV row",
                        ));
                    }
                };
                let line = rec.position().map_or(1, |p| p.line() as usize);
                let map: serde_json::Map<String, Value> = headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(|s| Value::String(s.to_string())))
                    .collect();
                out.push(object_record(line, map));
            }
            return Ok((out, Some(headers)));
        }
    };
    Ok((records, None))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        _ => e.to_string(),
    }
}
