//! Templates under one directory, rendered with minijinja in strict mode.
//! A template can include others, but never reach outside the directory.

use crate::spec::jinja::guarded;
use crate::spec::Diagnostic;
use minijinja::{Environment, UndefinedBehavior};
use std::path::{Path, PathBuf};

/// The project's templates.
pub struct Templates {
    dir: PathBuf,
    env: Environment<'static>,
}

/// A template that failed to load or render.
#[derive(Debug)]
pub struct TemplateError {
    /// The template's name (relative to the templates directory).
    pub name: String,
    pub missing: bool,
    pub error: minijinja::Error,
}

/// Resolves `name` inside `dir`; `None` for anything that would leave it.
pub fn safe_path(dir: &Path, name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.starts_with('/') || name.contains('\\') || name.contains(':') {
        return None;
    }
    let mut path = dir.to_path_buf();
    for seg in name.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." || seg.starts_with('.') {
            return None;
        }
        path.push(seg);
    }
    // Symlinks must not lead out either.
    match (path.canonicalize(), dir.canonicalize()) {
        (Ok(p), Ok(d)) if p.starts_with(&d) => Some(path),
        (Err(_), _) => Some(path), // does not exist: reported as missing
        _ => None,
    }
}

impl Templates {
    pub fn new(dir: impl Into<PathBuf>) -> Templates {
        let dir = dir.into();
        let mut env = crate::spec::jinja::environment();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let root = dir.clone();
        env.set_loader(move |name| match safe_path(&root, name) {
            None => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("template `{name}` is outside the templates directory"),
            )),
            Some(path) => match std::fs::read_to_string(&path) {
                Ok(s) => Ok(Some(s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("cannot read template `{name}`: {e}"),
                )),
            },
        });
        Templates { dir, env }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a template exists (and is inside the directory).
    pub fn exists(&self, name: &str) -> bool {
        safe_path(&self.dir, name).is_some_and(|p| p.is_file())
    }

    /// Renders a template; output is trimmed.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, TemplateError> {
        let wrap = |error: minijinja::Error| TemplateError {
            name: name.to_string(),
            missing: error.kind() == minijinja::ErrorKind::TemplateNotFound
                && error.name().is_none_or(|n| n == name),
            error,
        };
        let out = guarded(|| self.env.get_template(name)?.render(ctx)).map_err(wrap)?;
        Ok(out.trim().to_string())
    }

    /// Turns a template error into a diagnostic at the template's line, naming
    /// the spec that used it (`used_by`).
    pub fn diagnostic(&self, e: &TemplateError, used_by: &str) -> Diagnostic {
        let file_name = e.error.name().unwrap_or(&e.name).to_string();
        let file = self.dir.join(&file_name);
        let source = e
            .error
            .template_source()
            .map(str::to_string)
            .or_else(|| std::fs::read_to_string(&file).ok());
        let detail = e
            .error
            .detail()
            .map(str::to_string)
            .unwrap_or_else(|| e.error.kind().to_string());
        let message = format!("template `{file_name}`: {detail}");
        let label = match e.error.kind() {
            minijinja::ErrorKind::UndefinedError => {
                "undefined variable (available: body, variant, question, belief, correct)"
                    .to_string()
            }
            minijinja::ErrorKind::SyntaxError => "syntax error here".to_string(),
            minijinja::ErrorKind::TemplateNotFound => "template not found".to_string(),
            k => k.to_string(),
        };
        let d = match (&source, e.error.range(), e.error.line()) {
            (Some(src), Some(r), _) => {
                Diagnostic::at_offset(&file, src, r.start, r.len().max(1), message, label)
            }
            (Some(src), None, Some(line)) => {
                let len = src.lines().nth(line.saturating_sub(1)).map_or(1, str::len);
                Diagnostic::at_line(&file, Some(src), line, 1, len, message, label)
            }
            _ => Diagnostic::file(&file, message),
        };
        d.note(format!("used by {used_by}"))
    }
}
