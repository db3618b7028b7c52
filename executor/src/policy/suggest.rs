//! "Did you mean …?": the closest known word to a misspelt one.

/// Candidates scoring at least this (Jaro-Winkler, 0 to 1) are offered. Low enough to catch
/// one or two slips (`aprroval`, `scroll` for `scroll to`), high enough not to offer
/// unrelated words.
const MIN_SIMILARITY: f64 = 0.8;

/// The candidate most similar to `word`, if any is similar enough.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, c), c))
        .filter(|(score, _)| *score >= MIN_SIMILARITY)
        .fold(None, |best: Option<(f64, &str)>, (score, c)| match best {
            Some((s, _)) if s >= score => best,
            _ => Some((score, c)),
        })
        .map(|(_, c)| c)
}

/// `did you mean `x`?` or, with no close candidate, the list of what is allowed.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("expected one of {}", list(candidates)),
    }
}

/// `` `a`, `b` or `c` ``.
pub fn list(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_words_are_suggested() {
        let keys = ["approval", "blocked_schemes", "max_steps", "max_duration"];
        assert_eq!(closest("aprroval", keys), Some("approval"));
        assert_eq!(closest("APPROVAL", keys), Some("approval"));
        assert_eq!(closest("max_step", keys), Some("max_steps"));
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(
            closest("scroll", ["scroll to", "select"]),
            Some("scroll to")
        );
    }

    #[test]
    fn help_lists_candidates_when_nothing_is_close() {
        assert_eq!(
            did_you_mean("hgih", &["low", "high"]),
            "did you mean `high`?"
        );
        assert_eq!(
            did_you_mean("never", &["low", "medium", "high"]),
            "expected one of `low`, `medium` or `high`"
        );
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&[]), "");
    }
}
