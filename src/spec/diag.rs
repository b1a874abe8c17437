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

/// Finds where a value sits in YAML source: the first whole-word occurrence of
/// `value` after the first line that has `key:` (or anywhere, if there is no
/// such key). Returns (byte offset, length).
pub fn locate(source: &str, key: &str, value: &str) -> Option<(usize, usize)> {
    let start = key_offset(source, key).unwrap_or(0);
    find_word(source, start, value)
        .or_else(|| find_word(source, 0, value))
        .map(|o| (o, value.len()))
}

/// Byte offset of the n-th (0-based) whole-word occurrence of `value` after `key:`.
pub fn locate_nth(source: &str, key: &str, value: &str, n: usize) -> Option<(usize, usize)> {
    let mut from = key_offset(source, key).unwrap_or(0);
    let mut found = None;
    for _ in 0..=n {
        let o = find_word(source, from, value)?;
        found = Some(o);
        from = o + value.len().max(1);
    }
    found.map(|o| (o, value.len()))
}

/// Byte offset of the key itself (`key:` at the start of a line, after indentation or `- `).
pub fn key_offset(source: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
        if let Some(rest) = trimmed.strip_prefix(key) {
            if rest.trim_start().starts_with(':') {
                return Some(offset + (line.len() - trimmed.len()));
            }
        }
        offset += line.len();
    }
    None
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '/'
}

fn find_word(source: &str, from: usize, value: &str) -> Option<usize> {
    if value.is_empty() {
        return None;
    }
    let mut start = from;
    while let Some(i) = source.get(start..)?.find(value) {
        let at = start + i;
        let before_ok = source[..at].chars().next_back().is_none_or(|c| !is_word(c));
        let after_ok = source[at + value.len()..]
            .chars()
            .next()
            .is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + value.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_values_after_their_key() {
        let src = "name: none\ncontexts: [none, sadnes]\n";
        let (o, l) = locate(src, "contexts", "none").unwrap();
        assert_eq!(&src[o..o + l], "none");
        assert_eq!(o, 22);
        let (o, _) = locate(src, "contexts", "sadnes").unwrap();
        assert_eq!(&src[o..o + 6], "sadnes");
    }

    #[test]
    fn positions_are_one_based() {
        let d = Diagnostic::at_offset(Path::new("x"), "ab\ncd", 4, 1, "m", "l");
        assert_eq!((d.line, d.column), (2, 2));
        assert_eq!(d.line_text(), Some("cd"));
    }
}
