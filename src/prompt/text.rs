//! Text normalisation shared by option matching (here) and answer scoring.

/// Lowercase, punctuation to spaces, articles dropped, single spaces.
pub fn normalize(s: &str) -> String {
    let lowered: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '%' {
                c
            } else {
                ' '
            }
        })
        .collect();
    lowered
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `needle` occurs in `haystack` as whole words (both already normalised).
pub fn contains_words(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let h = format!(" {haystack} ");
    let n = format!(" {needle} ");
    h.contains(&n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_punctuation_and_articles() {
        assert_eq!(normalize("The  Eiffel-Tower!"), "eiffel tower");
        assert_eq!(normalize("An apple, a day."), "apple day");
    }

    #[test]
    fn matches_whole_words_only() {
        assert!(contains_words("it is paris france", "paris"));
        assert!(!contains_words("comparison", "paris"));
        assert!(!contains_words("x", ""));
    }
}
