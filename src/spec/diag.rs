//! Diagnostics: what went wrong, and where. Rendering lives in `report`.

use std::path::{Path, PathBuf};

/// One error in a spec, a data file or a template, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The file the position refers to (as given: relative paths stay relative).
    pub file: PathBuf,
    /// The file's text, when it could be read (for the snippet).
    pub source: Option<String>,
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
    /// Length in bytes of the offending text (at least 1 when shown).
    pub len: usize,
    /// The headline.
    pub message: String,
    /// What was expected, shown under the caret.
    pub label: String,
    /// Extra lines (e.g. "used by spec specs/x.yaml").
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic at a byte offset of `source`.
    pub fn at_offset(
        file: &Path,
        source: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        Diagnostic {
            file: file.to_path_buf(),
            source: Some(source.to_string()),
            line,
            column,
            len,
            message: message.into(),
            label: label.into(),
            notes: Vec::new(),
        }
    }

    /// A diagnostic at a 1-based line and column of `source`.
    pub fn at_line(
        file: &Path,
        source: Option<&str>,
        line: usize,
        column: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            source: source.map(str::to_string),
            line: line.max(1),
            column: column.max(1),
            len,
            message: message.into(),
            label: label.into(),
            notes: Vec::new(),
        }
    }

    /// A diagnostic about a file as a whole (no snippet).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic::at_line(file, None, 1, 1, 0, message, "")
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The text of the offending line, if known.
    pub fn line_text(&self) -> Option<&str> {
        self.source.as_deref()?.lines().nth(self.line - 1)
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let d = Diagnostic::at_offset(Path::new("x"), "ab\ncd", 4, 1, "m", "l");
        assert_eq!((d.line, d.column), (2, 2));
        assert_eq!(d.line_text(), Some("cd"));
    }
}
