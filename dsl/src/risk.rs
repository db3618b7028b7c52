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
    ($($variant:ident => $word:literal, $risk:ident, $reason:literal;)*) => {
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

            /// Why the verb alone has its base risk, as shown with a step's risk.
            pub fn base_reason(self) -> &'static str {
                match self { $(Verb::$variant => $reason),* }
            }

            pub fn parse(word: &str) -> Option<Verb> {
                match word { $($word => Some(Verb::$variant),)* _ => None }
            }
        }
    };
}

verbs! {
    Navigate => "navigate", Medium, "`navigate` loads a page";
    Back => "back", Medium, "`back` goes back in the tab's history";
    Forward => "forward", Medium, "`forward` goes forward in the tab's history";
    Reload => "reload", Medium, "`reload` loads the page again";
    OpenTab => "open tab", Medium, "`open tab` loads a page in a new tab";
    SwitchTab => "switch tab", Medium, "`switch tab` changes the page the script acts on";
    CloseTab => "close tab", Medium, "`close tab` closes a page";
    Click => "click", Medium, "`click` acts on the page";
    Fill => "fill", Medium, "`fill` types into the page";
    Clear => "clear", Medium, "`clear` erases what a field holds";
    Select => "select", Medium, "`select` changes a choice on the page";
    Check => "check", Medium, "`check` changes a checkbox or switch";
    Uncheck => "uncheck", Medium, "`uncheck` changes a checkbox or switch";
    Hover => "hover", Low, "`hover` only moves the pointer";
    Press => "press", Medium, "`press` sends a key to the page";
    ScrollTo => "scroll to", Low, "`scroll to` only moves the view";
    Submit => "submit", High, "`submit` commits a form and cannot be undone";
    Upload => "upload", High, "`upload` sends a file from this computer";
    Let => "let", Low, "`let` only reads";
    Wait => "wait", Low, "`wait` only waits";
    Assert => "assert", Low, "`assert` only reads";
    If => "if", Low, "`if` only decides what runs";
    Repeat => "repeat", Low, "`repeat` only decides what runs";
    ForEach => "for each", Low, "`for each` only decides what runs";
    Confirm => "confirm", High, "`confirm` asks the user to approve what follows";
    Handoff => "handoff", High, "`handoff` gives the user control of the browser";
    Note => "note", Low, "`note` only shows a message";
    Job => "job", High, "`job` runs code outside the browser";
    Return => "return", Low, "`return` ends the script with a result";
}

impl Verb {
    /// Whether the verb changes the page or the world. Reading, waiting, control flow and
    /// the steps where the user rather than the agent acts (`confirm`, `handoff`) do not, so
    /// grants and site allow-lists need not name them.
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
                | Verb::Confirm
                | Verb::Handoff
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
        Verb::parse(&word).ok_or_else(|| serde::de::Error::custom(format!("unknown verb `{word}`")))
    }
}

/// Words that make a step high-risk when its target's name contains them (case-insensitive).
/// The policy adds its own through [`RiskOptions::sensitive_words`].
pub const DEFAULT_SENSITIVE_WORDS: &[&str] = &[
    "pay",
    "buy",
    "order",
    "purchase",
    "checkout",
    "delete",
    "remove",
    "send",
    "transfer",
    "publish",
    "subscribe",
    "sign",
    "confirm",
    "book",
    "donate",
    "withdraw",
    "cancel",
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
            sensitive_words: DEFAULT_SENSITIVE_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
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
    /// "Pay now" matches `pay` but "Display" does not. Words are runs of letters and digits,
    /// in the text and in the sensitive words alike, so `e-mail` matches "E-Mail address". A
    /// one-word entry also matches its common inflections ("orders", "paying").
    ///
    /// Runs for every acting step, so it allocates once (the lowercased text) and no more.
    pub fn sensitive_word_in(&self, text: &str) -> Option<&str> {
        // Names are nearly always ASCII: compare them ignoring ASCII case, without the
        // allocation of a lowercased copy; anything else is lowercased properly first.
        if text.is_ascii() {
            self.find_sensitive(text)
        } else {
            let lower = text.to_lowercase();
            self.find_sensitive(&lower)
        }
    }

    /// [`Self::sensitive_word_in`] over a text that is ASCII or already lowercase.
    fn find_sensitive(&self, text: &str) -> Option<&str> {
        let words = words_of(text);
        // Which bytes start a word of the text: most sensitive words are rejected by one bit
        // test instead of a scan of the text.
        let mut starts = [0u64; 4];
        for word in words.clone() {
            if let Some(&b) = word.as_bytes().first() {
                let b = b.to_ascii_lowercase();
                starts[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
        self.sensitive_words
            .iter()
            .find(|sensitive| {
                // An entry that starts with a letter or digit starts its first word, so one
                // bit test rejects it without splitting it into words.
                if let Some(&b) = sensitive.as_bytes().first() {
                    let b = b.to_ascii_lowercase();
                    if b.is_ascii_alphanumeric()
                        && starts[usize::from(b >> 6)] & (1 << (b & 63)) == 0
                    {
                        return false;
                    }
                }
                let mut parts = words_of(sensitive);
                let Some(first) = parts.next() else {
                    return false;
                };
                if parts.next().is_none() {
                    return words
                        .clone()
                        .any(|w| w.eq_ignore_ascii_case(first) || stem_matches(w, first));
                }
                // Several words: they must appear in a row.
                let mut from = words.clone();
                loop {
                    let mut run = from.clone();
                    if words_of(sensitive)
                        .all(|part| run.next().is_some_and(|w| w.eq_ignore_ascii_case(part)))
                    {
                        return true;
                    }
                    if from.next().is_none() {
                        return false;
                    }
                }
            })
            .map(String::as_str)
    }
}

/// The words of a text: runs of letters and digits.
fn words_of(text: &str) -> impl Iterator<Item = &str> + Clone {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// "orders", "ordering", "paying", "deleted" count as their sensitive stem (ignoring ASCII
/// case, like the whole-word comparison).
fn stem_matches(word: &str, sensitive: &str) -> bool {
    let (Some(stem), Some(rest)) = (word.get(..sensitive.len()), word.get(sensitive.len()..))
    else {
        return false;
    };
    stem.eq_ignore_ascii_case(sensitive)
        && ["s", "es", "ed", "d", "ing", "ment", "ments"]
            .iter()
            .any(|suffix| rest.eq_ignore_ascii_case(suffix))
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
        assert_eq!(
            extra.sensitive_word_in("add to cart now"),
            Some("add to cart")
        );
    }
}
