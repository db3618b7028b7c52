//! Verbs and risk levels: the risk of a step is computed here from what it does, never
//! declared by the planner.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How much harm a step could do; ordered, so `High > Medium > Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }

    pub fn parse(word: &str) -> Option<Risk> {
        match word {
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            _ => None,
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! verbs {
    ($($variant:ident => $word:literal, $risk:ident;)*) => {
        /// Every verb of the language, by the word a script (and a policy) writes for it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Verb { $($variant),* }

        impl Verb {
            pub const ALL: &'static [Verb] = &[$(Verb::$variant),*];

            /// The verb's word as scripts, policies and tokens spell it (`"scroll to"`).
            pub fn as_str(self) -> &'static str {
                match self { $(Verb::$variant => $word),* }
            }

            /// The contract's risk for the verb alone, before targets and data are considered.
            pub fn base_risk(self) -> Risk {
                match self { $(Verb::$variant => Risk::$risk),* }
            }

            pub fn parse(word: &str) -> Option<Verb> {
                match word { $($word => Some(Verb::$variant),)* _ => None }
            }
        }
    };
}

verbs! {
    Navigate => "navigate", Medium;
    Back => "back", Medium;
    Forward => "forward", Medium;
    Reload => "reload", Medium;
    OpenTab => "open tab", Medium;
    SwitchTab => "switch tab", Medium;
    CloseTab => "close tab", Medium;
    Click => "click", Medium;
    Fill => "fill", Medium;
    Clear => "clear", Medium;
    Select => "select", Medium;
    Check => "check", Medium;
    Uncheck => "uncheck", Medium;
    Hover => "hover", Low;
    Press => "press", Medium;
    ScrollTo => "scroll to", Low;
    Submit => "submit", High;
    Upload => "upload", High;
    Let => "let", Low;
    Wait => "wait", Low;
    Assert => "assert", Low;
    If => "if", Low;
    Repeat => "repeat", Low;
    ForEach => "for each", Low;
    Confirm => "confirm", High;
    Handoff => "handoff", High;
    Note => "note", Low;
    Job => "job", High;
    Return => "return", Low;
}

impl Verb {
    /// Whether the verb changes the page or the world (as opposed to reading or waiting).
    pub fn acts(self) -> bool {
        !matches!(
            self,
            Verb::Let
                | Verb::Wait
                | Verb::Assert
                | Verb::If
                | Verb::Repeat
                | Verb::ForEach
                | Verb::Note
                | Verb::Return
        )
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Verb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Verb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        Verb::parse(&word).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown verb `{word}`"))
        })
    }
}

/// Words that make a step high-risk when its target's name contains them (case-insensitive).
/// The policy adds its own through [`RiskOptions::sensitive_words`].
pub const DEFAULT_SENSITIVE_WORDS: &[&str] = &[
    "pay", "buy", "order", "purchase", "checkout", "delete", "remove", "send", "transfer",
    "publish", "subscribe", "sign", "confirm", "book", "donate", "withdraw", "cancel",
];

/// The hook through which the local policy tunes risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskOptions {
    /// Words (lowercase) that make a step high-risk when its target names one.
    pub sensitive_words: Vec<String>,
}

impl Default for RiskOptions {
    fn default() -> Self {
        RiskOptions {
            sensitive_words: DEFAULT_SENSITIVE_WORDS.iter().map(|w| (*w).to_owned()).collect(),
        }
    }
}

impl RiskOptions {
    /// The defaults plus `extra` words.
    pub fn with_extra_words<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut options = RiskOptions::default();
        for word in extra {
            let word = word.as_ref().trim().to_lowercase();
            if !word.is_empty() && !options.sensitive_words.contains(&word) {
                options.sensitive_words.push(word);
            }
        }
        options
    }

    /// The first sensitive word found in `text` as a whole word (case-insensitive), so
    /// "Pay now" matches `pay` but "Display" does not.
    pub fn sensitive_word_in(&self, text: &str) -> Option<&str> {
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        self.sensitive_words
            .iter()
            .find(|s| {
                let parts: Vec<&str> = s.split_whitespace().collect();
                !parts.is_empty() && words.windows(parts.len()).any(|w| w == parts.as_slice())
                    || words.iter().any(|w| stem_matches(w, s))
            })
            .map(String::as_str)
    }
}

/// "orders", "ordering", "paying", "deleted" count as their sensitive stem.
fn stem_matches(word: &str, sensitive: &str) -> bool {
    word.strip_prefix(sensitive)
        .is_some_and(|rest| matches!(rest, "s" | "es" | "ed" | "d" | "ing" | "ment" | "ments"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verb_words_round_trip() {
        for verb in Verb::ALL {
            assert_eq!(Verb::parse(verb.as_str()), Some(*verb));
        }
        assert_eq!(Verb::parse("scroll"), None);
    }

    #[test]
    fn sensitive_words_match_whole_words_and_stems() {
        let risk = RiskOptions::default();
        assert_eq!(risk.sensitive_word_in("Pay now"), Some("pay"));
        assert_eq!(risk.sensitive_word_in("Place ORDER"), Some("order"));
        assert_eq!(risk.sensitive_word_in("My orders"), Some("order"));
        assert_eq!(risk.sensitive_word_in("Display settings"), None);
        assert_eq!(risk.sensitive_word_in("Add to cart"), None);
        let extra = RiskOptions::with_extra_words(["Add to cart"]);
        assert_eq!(extra.sensitive_word_in("add to cart now"), Some("add to cart"));
    }
}
