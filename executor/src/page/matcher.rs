//! Name matchers compiled once per resolution: exact (whitespace-normalised, case-sensitive),
//! contains (case-insensitive, Unicode lowercase) and regular expressions (the `regex` crate:
//! linear time, flags `i`, `m`, `s`, bounded compiled size).

use super::error::ResolveError;
use super::limits::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};
use super::text::normalize;
use crate::engine::NameMatch;
use bridle_dsl::limits::MAX_REGEX_BYTES;

/// A compiled [`NameMatch`].
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Exact(String),
    /// The needle, normalised and lowercased.
    Contains(String),
    Regex(regex::Regex),
}

impl Matcher {
    pub(crate) fn new(m: &NameMatch) -> Result<Matcher, ResolveError> {
        Ok(match m {
            NameMatch::Exact(s) => Matcher::Exact(normalize(s)),
            NameMatch::Contains(s) => Matcher::Contains(normalize(s).to_lowercase()),
            NameMatch::Regex { pattern, flags } => Matcher::Regex(compile(pattern, flags)?),
        })
    }

    /// Whether a (normalised) name matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Exact(s) => name == s,
            Matcher::Contains(s) => name.to_lowercase().contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(name),
        }
    }

    /// The same, with the lowercase form at hand.
    pub(crate) fn matches_with_lower(&self, text: &str, lower: &str) -> bool {
        match self {
            Matcher::Contains(s) => lower.contains(s.as_str()),
            other => other.matches(text),
        }
    }

    /// The text a near miss is compared with, lowercased; none for a regular expression.
    pub(crate) fn needle(&self) -> Option<String> {
        match self {
            Matcher::Exact(s) => Some(s.to_lowercase()),
            Matcher::Contains(s) => Some(s.clone()),
            Matcher::Regex(_) => None,
        }
    }
}

/// A [`NameMatch`] compiled to match any text the way names are matched: a tab's title or
/// URL for `switch tab` (the extension's `session/tabs.rs`).
#[derive(Debug, Clone)]
pub struct TextMatcher(Matcher);

impl TextMatcher {
    /// Compiles `m`; a regular expression over the limits is [`ResolveError::BadRegex`].
    pub fn new(m: &NameMatch) -> Result<TextMatcher, ResolveError> {
        Matcher::new(m).map(TextMatcher)
    }

    /// Whether `text`, whitespace-normalised, matches.
    pub fn matches(&self, text: &str) -> bool {
        self.0.matches(&normalize(text))
    }
}

fn compile(pattern: &str, flags: &str) -> Result<regex::Regex, ResolveError> {
    let bad = |message: String| ResolveError::BadRegex {
        pattern: pattern.to_owned(),
        flags: flags.to_owned(),
        message,
    };
    if pattern.len() > MAX_REGEX_BYTES {
        return Err(bad(format!(
            "the pattern is {} bytes, more than the limit of {MAX_REGEX_BYTES}",
            pattern.len()
        )));
    }
    let mut builder = regex::RegexBuilder::new(pattern);
    for flag in flags.chars() {
        match flag {
            'i' => builder.case_insensitive(true),
            'm' => builder.multi_line(true),
            's' => builder.dot_matches_new_line(true),
            other => return Err(bad(format!("unknown flag `{other}`"))),
        };
    }
    builder
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => bad(format!(
                "it compiles to more than the limit of {limit} bytes"
            )),
            other => bad(other
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_owned()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: NameMatch) -> Matcher {
        Matcher::new(&x).unwrap()
    }

    #[test]
    fn a_text_matcher_normalises_the_text_and_keeps_the_rules() {
        let exact = TextMatcher::new(&NameMatch::Exact("Tab  Alpha".into())).unwrap();
        assert!(exact.matches(" Tab\nAlpha "));
        assert!(!exact.matches("tab alpha"));
        let part = TextMatcher::new(&NameMatch::Contains("ALPHA".into())).unwrap();
        assert!(part.matches("http://127.0.0.1:8/tabs-alpha.html"));
        let bad = TextMatcher::new(&NameMatch::Regex {
            pattern: "(".into(),
            flags: String::new(),
        });
        assert!(matches!(bad, Err(ResolveError::BadRegex { .. })));
    }

    #[test]
    fn exact_is_normalised_and_case_sensitive() {
        let e = m(NameMatch::Exact("  Add  to\ncart ".into()));
        assert!(e.matches("Add to cart"));
        assert!(!e.matches("add to cart"));
        assert!(!e.matches("Add to cart now"));
    }

    #[test]
    fn contains_ignores_case_in_unicode() {
        let c = m(NameMatch::Contains("ÜBER  uns".into()));
        assert!(c.matches("Alles über uns"));
        assert!(!c.matches("über"));
        assert!(c.matches_with_lower("Alles ÜBER UNS", "alles über uns"));
    }

    #[test]
    fn regex_flags_and_limits() {
        let r = m(NameMatch::Regex {
            pattern: "^e-?mail$".into(),
            flags: "i".into(),
        });
        assert!(r.matches("E-mail"));
        assert!(r.matches("EMAIL"));
        assert!(!r.matches("E-mail address"));
        let s = m(NameMatch::Regex {
            pattern: "a.b".into(),
            flags: "s".into(),
        });
        assert!(s.matches("a\nb"));
        let err = Matcher::new(&NameMatch::Regex {
            pattern: "x".into(),
            flags: "g".into(),
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid regular expression `/x/g`: unknown flag `g`"
        );
        let err = Matcher::new(&NameMatch::Regex {
            pattern: "(".into(),
            flags: String::new(),
        })
        .unwrap_err();
        assert_eq!(err.code(), "bad-regex");
        // At the compiled-size limit: a counted repetition of a Unicode class blows up.
        let err = Matcher::new(&NameMatch::Regex {
            pattern: r"\w{1000}".into(),
            flags: String::new(),
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid regular expression `/\\w{{1000}}/`: it compiles to more than the limit of {REGEX_SIZE_LIMIT} bytes"
            )
        );
        let small = m(NameMatch::Regex {
            pattern: r"\w{10}".into(),
            flags: String::new(),
        });
        assert!(small.matches("abcdefghij"));
        let err = Matcher::new(&NameMatch::Regex {
            pattern: "a".repeat(MAX_REGEX_BYTES + 1),
            flags: String::new(),
        })
        .unwrap_err();
        assert!(err.to_string().ends_with(&format!(
            "the pattern is {} bytes, more than the limit of {MAX_REGEX_BYTES}",
            MAX_REGEX_BYTES + 1
        )));
        let at_limit = m(NameMatch::Regex {
            pattern: "a".repeat(MAX_REGEX_BYTES),
            flags: String::new(),
        });
        assert!(at_limit.matches(&"a".repeat(MAX_REGEX_BYTES)));
    }
}
