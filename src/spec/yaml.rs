//! Every YAML call in candor goes through this module.

use super::config::RawConfig;
use super::raw::{RawRecord, RawSuite};

/// A YAML error with its position (1-based line and column, byte index).
#[derive(Debug, Clone)]
pub struct YamlError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub index: usize,
}

fn convert(err: serde_norway::Error) -> YamlError {
    let full = err.to_string();
    let (line, column, index) = match err.location() {
        Some(l) => (l.line(), l.column(), l.index()),
        None => (1, 1, 0),
    };
    // serde_norway appends " at line L column C"; the position is shown separately.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    YamlError {
        message,
        line,
        column,
        index,
    }
}

/// Parses one suite file.
pub fn parse_suite(src: &str) -> Result<RawSuite, YamlError> {
    serde_norway::from_str(src).map_err(convert)
}

/// Parses a YAML data file: a list of mappings.
pub fn parse_records(src: &str) -> Result<Vec<RawRecord>, YamlError> {
    serde_norway::from_str(src).map_err(convert)
}

/// Parses `candor.yaml`.
pub fn parse_config(src: &str) -> Result<RawConfig, YamlError> {
    if src.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    serde_norway::from_str(src).map_err(convert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::raw::{RawCriterion, RawScoring};

    #[test]
    fn externally_tagged_single_key_maps() {
        let src = "name: a\nsource: s\nlicense: l\nscoring:\n  choice: {}\ncriteria:\n  - max_error_increase: {tolerance_pp: 5}\n  - min_items: {n: 3}\n";
        let s = parse_suite(src).unwrap();
        assert!(matches!(s.scoring.into_one(), Ok(RawScoring::Choice(_))));
        let mut c = s.criteria.into_iter();
        assert!(matches!(
            c.next().unwrap().into_one(),
            Ok(RawCriterion::MaxErrorIncrease(_))
        ));
    }

    #[test]
    fn range_errors_have_positions() {
        let src = "name: a\nsource: s\nlicense: l\nscoring:\n  choice: {}\ncriteria:\n  - max_error_increase: {tolerance_pp: 500}\n";
        let e = parse_suite(src).unwrap_err();
        assert_eq!(e.line, 7, "{e:?}");
        assert!(e.message.contains("between 0 and 100"), "{e:?}");
    }
}
