//! The run's tabs: `open tab`, `switch tab` and `close tab`. A run owns the tab it started in,
//! the tabs it opened and the tabs their pages opened (which the navigation guard watches);
//! it acts on one of them, the current tab. JavaScript (extension/ts/tabs.ts) keeps that set
//! from the browser's own events and does what is chosen here; the choices are made here:
//! which of the run's tabs `switch tab` means (exactly one, by title or URL, or an error
//! listing the candidates), which tab becomes current after `close tab` (the most recently
//! current one still open; never none), and whether an `open tab` URL may be opened at all.
//!
//! A tab the run does not own is never in the list JavaScript hands over, so no matcher can
//! reach it: a user's own tabs stay out of the run's reach whatever their title.

use super::navguard::{self, NavEvent, NavKind, Verdict};
use super::{refused, Todo};
use bridle_executor::engine::{Action, NameMatch, Response};
use bridle_executor::page::TextMatcher;
use bridle_executor::Policy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A browser tab id (`chrome.tabs.Tab.id`; never `TAB_ID_NONE`).
pub type TabId = u32;

/// The most tabs a run chooses among. A page of the run can open tabs of its own, so the list
/// is bounded: a longer one fails the step rather than being read in part.
pub const MAX_RUN_TABS: usize = 64;

/// How many candidates an error lists; the others are counted.
pub const MAX_SHOWN_CANDIDATES: usize = 8;

/// How many characters of a title or URL an error shows.
pub const MAX_SHOWN_CHARS: usize = 80;

/// One of the run's open tabs, as JavaScript lists it: the URL from the browser
/// (`webNavigation`), the title from the tab's content script (empty when none answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTab {
    pub id: TabId,
    pub title: String,
    pub url: String,
}

/// What JavaScript does with the run's tabs ([`Todo::Tab`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TabAction {
    /// Open a tab in the run's window (watched by the navigation guard from its first
    /// navigation), make it current, navigate it to `url` and wait for the load →
    /// `Input::Acted`.
    Open { url: String },
    /// List the run's open tabs, the current one first, then the others from the most
    /// recently current → `Input::Tabs`.
    List,
    /// Make `id`, one of the listed tabs, current and show it → `Input::Acted`.
    Switch { id: TabId },
    /// Close the current tab `id` and make `next` current → `Input::Acted`.
    Close { id: TabId, next: TabId },
}

/// The first answer to a tab step: `open tab` is checked and handed over; `switch tab` and
/// `close tab` need the list of the run's tabs first.
pub(super) fn start(
    origins: &[String],
    policy: &Policy,
    action: &Action,
) -> Result<Response, Todo> {
    match action {
        Action::OpenTab { url } => match open(origins, policy, url) {
            Ok(action) => Err(Todo::Tab { action }),
            Err(message) => Ok(refused(message)),
        },
        Action::SwitchTab { .. } | Action::CloseTab => Err(Todo::Tab {
            action: TabAction::List,
        }),
        _ => Ok(refused("not a tab step".to_owned())),
    }
}

/// The answer to the list of the run's tabs for a `switch tab` or `close tab`.
pub(super) fn chosen(action: &Action, tabs: &[RunTab]) -> Result<Response, Todo> {
    let choice = match action {
        Action::SwitchTab { matcher } => switch(matcher, tabs),
        Action::CloseTab => close(tabs),
        _ => Err("not a step that lists the run's tabs".to_owned()),
    };
    match choice {
        Ok(action) => Err(Todo::Tab { action }),
        Err(message) => Ok(refused(message)),
    }
}

/// `open tab URL`: the engine decided the step against the script's origins, the token and
/// the policy already; the URL is checked once more the way the navigation guard checks a
/// committed navigation, so nothing opens at all for a URL the guard would stop.
pub fn open(origins: &[String], policy: &Policy, url: &str) -> Result<TabAction, String> {
    let event = NavEvent {
        kind: NavKind::Committed,
        url: url.to_owned(),
        qualifiers: Vec::new(),
    };
    match navguard::check(origins, policy, &event) {
        Verdict::Allow => Ok(TabAction::Open {
            url: url.to_owned(),
        }),
        Verdict::Block { origin, reason } => Err(format!(
            "`open tab` to `{origin}` was refused before opening anything: a page {reason}"
        )),
    }
}

/// `switch tab M`: the one tab of the run whose title or URL matches.
pub fn switch(matcher: &NameMatch, tabs: &[RunTab]) -> Result<TabAction, String> {
    check_list(tabs)?;
    let compiled = TextMatcher::new(matcher).map_err(|e| format!("{}: {e}", e.code()))?;
    let found: Vec<&RunTab> = tabs
        .iter()
        .filter(|t| compiled.matches(&t.title) || compiled.matches(&t.url))
        .collect();
    match found.as_slice() {
        [one] => Ok(TabAction::Switch { id: one.id }),
        [] => Err(format!(
            "no tab of the run matches {matcher} by title or URL; the run's tabs: {}",
            listed(tabs.iter())
        )),
        many => Err(format!(
            "{matcher} matches {} of the run's tabs: {}; name one of them exactly",
            many.len(),
            listed(many.iter().copied())
        )),
    }
}

/// `close tab`: closes the current tab (the list's first) and makes the most recently current
/// of the others (the list's second) current; the run's last tab is never closed.
pub fn close(tabs: &[RunTab]) -> Result<TabAction, String> {
    check_list(tabs)?;
    match tabs {
        [current, next, ..] => Ok(TabAction::Close {
            id: current.id,
            next: next.id,
        }),
        _ => Err("`close tab` would close the run's last tab: a run keeps at least one".to_owned()),
    }
}

/// The list as JavaScript must send it: not empty, not over [`MAX_RUN_TABS`], each tab once.
fn check_list(tabs: &[RunTab]) -> Result<(), String> {
    if tabs.is_empty() {
        return Err("the run has no open tab".to_owned());
    }
    if tabs.len() > MAX_RUN_TABS {
        return Err(format!(
            "the run has {} tabs, more than the {MAX_RUN_TABS} it can choose among",
            tabs.len()
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(twice) = tabs.iter().find(|t| !seen.insert(t.id)) {
        return Err(format!(
            "the list of the run's tabs names tab {} twice",
            twice.id
        ));
    }
    Ok(())
}

/// The tabs as an error lists them: `"Title" (URL)`, at most [`MAX_SHOWN_CANDIDATES`].
fn listed<'a>(tabs: impl ExactSizeIterator<Item = &'a RunTab>) -> String {
    let total = tabs.len();
    let mut lines: Vec<String> = tabs
        .take(MAX_SHOWN_CANDIDATES)
        .map(|t| format!("{:?} ({})", shown(&t.title), shown(&t.url)))
        .collect();
    if total > MAX_SHOWN_CANDIDATES {
        lines.push(format!("and {} more", total - MAX_SHOWN_CANDIDATES));
    }
    lines.join(", ")
}

/// At most [`MAX_SHOWN_CHARS`] characters of `text`, whitespace collapsed.
fn shown(text: &str) -> String {
    let text = bridle_executor::page::normalize(text);
    if text.chars().count() <= MAX_SHOWN_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_SHOWN_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
