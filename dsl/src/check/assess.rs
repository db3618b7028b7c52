//! The risk of one step, from its verb, the names it acts on and the data it writes.
//!
//! The result is a lower bound, computed from the script alone: names written with an
//! interpolation or matched by `~"…"` or a regex may resolve to an element whose real name is
//! sensitive, so the executor applies the same words to the resolved element's name before
//! acting, and raises steps that write data read on another origin.

use super::stmts::Facts;
use crate::ast::{Matcher, Str, StrPart, Target, TargetBase};
use crate::risk::{Risk, RiskOptions};

/// Keys that can submit a form from a focused field, which would make `press` a `submit`
/// without its risk.
const SUBMITTING_KEYS: &[&str] = &["enter", "numpadenter", "return"];

pub(crate) fn assess(facts: &Facts<'_>, options: &RiskOptions) -> (Risk, Vec<String>) {
    let mut risk = facts.verb.base_risk();
    let mut reasons = vec![facts.verb.base_reason().to_owned()];
    let mut raise = |reasons: &mut Vec<String>, reason: String| {
        risk = Risk::High;
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    // Names make a step high-risk only when the step acts: reading the text of a "Pay now"
    // button or waiting for it harms nothing, and asking the user for every read would
    // teach them to approve without looking.
    if facts.verb.acts() {
        if let Some(target) = facts.target {
            target_names(target, |what, text| {
                if let Some(word) = options.sensitive_word_in(text) {
                    raise(
                        &mut reasons,
                        format!("{what} contains the sensitive word `{word}`"),
                    );
                }
            });
        }
        if let Some(option) = facts.option {
            for text in literal_parts(option) {
                if let Some(word) = options.sensitive_word_in(text) {
                    raise(
                        &mut reasons,
                        format!("option label contains the sensitive word `{word}`"),
                    );
                }
            }
        }
    }
    if let Some(secret) = facts.secret {
        raise(
            &mut reasons,
            format!("fills the secret `{secret}` from the vault"),
        );
    }
    if let Some(key) = facts.key {
        match key.as_literal() {
            None => raise(
                &mut reasons,
                "the key is not written out and could be `Enter`, which can submit a form"
                    .to_owned(),
            ),
            Some(key) if submits(&key) => raise(&mut reasons, format!("`{key}` can submit a form")),
            Some(_) => {}
        }
    }
    if facts
        .target
        .is_some_and(|t| matches!(t.base, TargetBase::Css(_)))
    {
        reasons.push("css selector targets are lower trust".to_owned());
    }
    if facts.writes_observed {
        reasons.push("writes data read from a page".to_owned());
    }
    (risk, reasons)
}

/// `Enter`, `Control+Enter`, `NumpadEnter`: any key combination ending in a submitting key.
fn submits(key: &str) -> bool {
    key.rsplit('+').next().is_some_and(|last| {
        SUBMITTING_KEYS
            .iter()
            .any(|k| last.trim().eq_ignore_ascii_case(k))
    })
}

/// Calls `f` with each text naming a target and what it is, for the reason: the base name
/// (literal parts of a string, a regex's pattern), the text of a `text` target, a css
/// selector, and the names of the containers the target is scoped to.
fn target_names<'t>(target: &'t Target, mut f: impl FnMut(&'static str, &'t str)) {
    match &target.base {
        TargetBase::Role { name: Some(m), .. } | TargetBase::Text(m) => {
            matcher_texts(m, "target name", &mut f);
        }
        TargetBase::Role { name: None, .. } => {}
        TargetBase::Css(selector) => f("target selector", selector.node.as_str()),
    }
    for scope in &target.scopes {
        if let Some(m) = &scope.name {
            matcher_texts(m, "target container name", &mut f);
        }
    }
}

fn matcher_texts<'t>(
    m: &'t Matcher,
    what: &'static str,
    f: &mut impl FnMut(&'static str, &'t str),
) {
    match m {
        Matcher::Exact(s) | Matcher::Contains(s) => {
            for text in literal_parts(s) {
                f(what, text);
            }
        }
        Matcher::Regex(r) => f(what, r.pattern.as_str()),
    }
}

fn literal_parts(s: &Str) -> impl Iterator<Item = &str> {
    s.parts.iter().filter_map(|p| match p {
        StrPart::Lit(text) => Some(text.as_str()),
        StrPart::Var(_) => None,
    })
}
