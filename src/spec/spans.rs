//! [`Spans`]: where every key and value of a YAML document is, recorded from
//! the parser's events while the document is read, so that a diagnostic points
//! at the node that is wrong instead of searching the text for it.
//!
//! A node is named by its path from the root: mapping keys and sequence
//! indices joined by dots, e.g. `criteria.2.max_gap_growth.reference` or
//! `contexts.1`. The root is `""`.

use saphyr_parser::{Event, Parser};
use std::collections::HashMap;
use std::ops::Range;

/// One node: the byte range of its key (in a mapping) and of its value (a
/// scalar's text, or the opening of a mapping or sequence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
    /// For mappings: the byte offset where the mapping's last entry ends.
    pub end: usize,
}

/// Every node of one YAML document, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    nodes: HashMap<String, Node>,
    /// Keys of each mapping, in order (for "did you mean" and the end of a mapping).
    keys: HashMap<String, Vec<String>>,
    /// Where the document's text ends (without trailing blank lines).
    end: usize,
}

enum Frame {
    Map {
        path: String,
        /// The key just read, waiting for its value.
        key: Option<(String, Range<usize>)>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

impl Spans {
    /// Records the nodes of the first document of `text`. A document that does
    /// not parse gives what was read before the error (the YAML error itself is
    /// reported by the deserialiser, with its own position).
    pub fn parse(text: &str) -> Spans {
        // The parser counts characters; diagnostics take byte offsets.
        let mut bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        bytes.push(text.len());
        let byte = |chars: usize| bytes.get(chars).copied().unwrap_or(text.len());
        let mut spans = Spans {
            end: text.trim_end().len(),
            ..Spans::default()
        };
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let range =
                byte(span.start.index())..byte(span.end.index()).max(byte(span.start.index()) + 1);
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map {
                        key: key @ None, ..
                    }) = stack.last_mut()
                    {
                        *key = Some((value.into_owned(), range));
                        continue;
                    }
                    spans.value_at(&mut stack, range, false);
                }
                Event::Alias(_) => {
                    spans.value_at(&mut stack, range, false);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let path = match stack.last_mut() {
                        // A mapping or sequence as a key: rare, and nothing candor reads.
                        Some(Frame::Map {
                            path,
                            key: key @ None,
                        }) => {
                            *key = Some(("?".into(), range.clone()));
                            child(path, "?")
                        }
                        _ => spans.value_at(&mut stack, range, true),
                    };
                    stack.push(match event {
                        Event::MappingStart(..) => Frame::Map { path, key: None },
                        _ => Frame::Seq { path, next: 0 },
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(Frame::Map { path, .. } | Frame::Seq { path, .. }) = stack.pop() {
                        let end = byte(span.start.index());
                        if let Some(n) = spans.nodes.get_mut(&path) {
                            n.end = end.max(n.value.end);
                        }
                    }
                }
                Event::DocumentEnd if !spans.nodes.is_empty() => break,
                _ => {}
            }
        }
        spans
    }

    /// Records a value under the frame on top of the stack and returns its path.
    fn value_at(&mut self, stack: &mut [Frame], range: Range<usize>, container: bool) -> String {
        let (path, key) = match stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Map { path, key }) => {
                let (name, key_range) = key.take().unwrap_or_else(|| ("?".into(), range.clone()));
                self.keys
                    .entry(path.clone())
                    .or_default()
                    .push(name.clone());
                (child(path, &name), Some(key_range))
            }
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                (child(path, &(*next - 1).to_string()), None)
            }
        };
        let end = if container { range.start } else { range.end };
        self.nodes.insert(
            path.clone(),
            Node {
                key,
                value: range,
                end,
            },
        );
        path
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every node, with its path (in no particular order).
    pub fn paths(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// The nearest recorded node at or above `path`, and its path.
    fn nearest<'p>(&self, path: &'p str) -> Option<(&'p str, &Node)> {
        let mut p = path;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return Some((p, n));
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return self.nodes.get("").map(|n| ("", n)),
            }
        }
    }

    /// The value at `path` (or, if the document has no such node, the key of
    /// its nearest ancestor): what a diagnostic about a value points at.
    pub fn value(&self, path: &str) -> Range<usize> {
        match self.nodes.get(path) {
            Some(n) => n.value.clone(),
            None => self.key(path),
        }
    }

    /// The key of the node at `path` (its value for sequence items), else of
    /// its nearest ancestor; for the document itself, its end (where a missing
    /// top-level key would go): what a diagnostic about a whole entry points at.
    pub fn key(&self, path: &str) -> Range<usize> {
        match self.nearest(path) {
            Some((_, Node { key: Some(k), .. })) => k.clone(),
            Some((p, n)) if !p.is_empty() => n.value.clone(),
            _ => self.missing(""),
        }
    }

    /// Where a key missing from the mapping at `path` would go: just after the
    /// mapping's last entry.
    pub fn missing(&self, path: &str) -> Range<usize> {
        let end = match self.nodes.get(path) {
            Some(n) if !path.is_empty() => n.end,
            _ => self.end,
        };
        end..end + 1
    }

    /// The keys of the mapping at `path`, in document order.
    pub fn keys(&self, path: &str) -> &[String] {
        self.keys.get(path).map_or(&[], Vec::as_slice)
    }

    /// The path of the `n`-th (0-based) item of the sequence at `seq` whose
    /// `field` (or whose own value, when `field` is empty) is `value`.
    pub fn find(
        &self,
        source: &str,
        seq: &str,
        field: &str,
        value: &str,
        n: usize,
    ) -> Option<String> {
        (0..)
            .map(|i| child(seq, &i.to_string()))
            .take_while(|p| self.nodes.contains_key(p))
            .map(|p| {
                if field.is_empty() {
                    p
                } else {
                    child(&p, field)
                }
            })
            .filter(|p| {
                self.nodes
                    .get(p)
                    .and_then(|node| source.get(node.value.clone()))
                    .is_some_and(|t| unquote(t) == value)
            })
            .nth(n)
    }
}

fn unquote(t: &str) -> &str {
    let t = t.trim();
    t.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| t.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(t)
}

/// The candidate closest to `word` by edit distance, when it is close enough
/// to be a typo (at most a third of the word's length, and at least 1).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name: x\ncontexts: [none, sadnes]\ncriteria:\n  - max_gap_growth: {tolerance_pp: 5, reference: nonne}\n  - min_items:\n      n: 3\n";

    fn text(r: Range<usize>) -> &'static str {
        &DOC[r]
    }

    #[test]
    fn every_key_and_value_is_where_the_document_has_it() {
        let s = Spans::parse(DOC);
        assert_eq!(text(s.value("name")), "x");
        assert_eq!(text(s.key("name")), "name");
        assert_eq!(text(s.value("contexts.1")), "sadnes");
        assert_eq!(
            text(s.value("criteria.0.max_gap_growth.reference")),
            "nonne"
        );
        assert_eq!(text(s.key("criteria.0.max_gap_growth")), "max_gap_growth");
        assert_eq!(text(s.value("criteria.1.min_items.n")), "3");
        assert_eq!(s.keys(""), ["name", "contexts", "criteria"]);
        assert_eq!(
            s.find(DOC, "contexts", "", "sadnes", 0).as_deref(),
            Some("contexts.1")
        );
    }

    #[test]
    fn a_missing_node_points_at_its_nearest_ancestor_and_never_at_the_start() {
        let s = Spans::parse(DOC);
        assert_eq!(text(s.key("criteria.1.min_items.alpha")), "min_items");
        let m = s.missing("");
        assert_eq!(m.start, DOC.trim_end().len());
        let empty = Spans::parse("");
        assert_eq!(empty.key("anything"), 0..1);
    }

    #[test]
    fn offsets_are_bytes_after_multibyte_text() {
        let doc = "name: é\ncontexts: [ß, x]\n";
        let s = Spans::parse(doc);
        assert_eq!(&doc[s.value("contexts.1")], "x");
    }

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(
            did_you_mean("sadnes", ["none", "sadness", "anger"]),
            Some("sadness")
        );
        assert_eq!(did_you_mean("xyz", ["none", "sadness"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
