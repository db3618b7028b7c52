//! The navigation guard's decisions. The browser reports every committed navigation, redirect
//! and new tab of the run's tab (`webNavigation`, forwarded unjudged by
//! extension/ts/navguard.ts); each is checked here against the script's `origins` and the
//! policy. A violation stops the run: a `note` in the audit log says where the tab went (its
//! origin only: a URL's path and query may carry the page's secrets), and the run ends with
//! the typed error `navigation-blocked`, recorded in its run-end.
//!
//! The guard cannot prevent a navigation the page starts (`webNavigation` only observes); it
//! makes sure nothing more happens in a run whose tab left the script's origins. Steps that
//! act are decided on the page they act on as well (`decide`: the page's and the element's
//! frame origin must be among the script's), so a step never acts on a foreign page even in
//! the moment before the guard's event arrives.

use super::{Session, Todo};
use crate::instance::{Instance, Now};
use bridle_dsl::Verb;
use bridle_executor::audit::EntryDraft;
use bridle_executor::decision::Outcome;
use bridle_executor::engine::RunError;
use bridle_executor::policy::Origin;
use bridle_executor::Policy;
use serde::{Deserialize, Serialize};

/// The longest URL the guard reads; a longer one is blocked unread (fail closed). Browsers
/// accept URLs of megabytes (`data:`), which no script's origin needs.
pub const MAX_GUARDED_URL_BYTES: usize = 64 * 1024;

/// The one page a tab may show outside the script's origins: the empty page a new tab starts
/// with. No content script runs in it, so nothing can be read or acted on there.
const EMPTY_PAGE: &str = "about:blank";

/// What the browser reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NavKind {
    /// A document committed in the top frame of the run's tab or of a tab it opened
    /// (`webNavigation.onCommitted`; redirects are committed navigations with a qualifier).
    Committed,
    /// The top frame's URL changed without a new document (`onHistoryStateUpdated`,
    /// `onReferenceFragmentUpdated`).
    SameDocument,
    /// A page of the run opened a new tab or window (`onCreatedNavigationTarget`).
    NewTab,
}

/// One navigation event, as navguard.ts forwards it from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavEvent {
    pub kind: NavKind,
    pub url: String,
    /// `webNavigation`'s `transitionQualifiers` (`server_redirect`, `client_redirect` …).
    #[serde(default)]
    pub qualifiers: Vec<String>,
}

impl NavEvent {
    /// How the event reads in an error or the audit log.
    pub fn describe(&self) -> &'static str {
        let qualified = |q: &str| self.qualifiers.iter().any(|x| x == q);
        match self.kind {
            NavKind::NewTab => "a new tab opened by the page",
            NavKind::SameDocument => "a change of the page's URL",
            NavKind::Committed if qualified("server_redirect") => "a server redirect",
            NavKind::Committed if qualified("client_redirect") => {
                "a redirect by the page (meta refresh or script)"
            }
            NavKind::Committed => "a navigation of the run's tab",
        }
    }
}

/// The guard's verdict on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Allow,
    /// `origin`: the destination's origin, or its scheme when it has none.
    Block {
        origin: String,
        reason: String,
    },
}

/// The destination as the guard names it: the origin, or `scheme:` for URLs without one.
fn shown_origin(url: &str) -> String {
    if let Ok(origin) = Origin::parse(url) {
        return origin.to_string();
    }
    match url.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme.len() <= 32
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            format!("{}:", scheme.to_ascii_lowercase())
        }
        _ => "an unreadable URL".to_owned(),
    }
}

/// Checks one event: the destination must be the empty page, or have an origin among the
/// script's `origins` with a scheme the policy does not block and no site rule of the policy
/// denying `navigate` there.
pub fn check(origins: &[String], policy: &Policy, event: &NavEvent) -> Verdict {
    let url = event.url.as_str();
    if url.len() > MAX_GUARDED_URL_BYTES {
        return Verdict::Block {
            origin: shown_origin(url.get(..64).unwrap_or("")),
            reason: format!(
                "whose URL is longer than the guard reads ({MAX_GUARDED_URL_BYTES} bytes)"
            ),
        };
    }
    if url == EMPTY_PAGE {
        return Verdict::Allow;
    }
    let origin = shown_origin(url);
    let block = |reason: String| Verdict::Block {
        origin: origin.clone(),
        reason,
    };
    if policy.is_blocked_scheme(url) {
        return block("whose scheme the policy blocks".to_owned());
    }
    let Ok(parsed) = Origin::parse(url) else {
        return block("which has no web origin".to_owned());
    };
    let parsed = parsed.to_string();
    if !origins.contains(&parsed) {
        return block("which is not among the script's origins".to_owned());
    }
    let site = policy.site_decision(url, Verb::Navigate);
    if site.outcome == Outcome::Deny {
        let rule = site
            .deciding()
            .map_or_else(|| "a site rule".to_owned(), ToString::to_string);
        return block(format!("where the policy denies navigation ({rule})"));
    }
    Verdict::Allow
}

impl Instance {
    /// Checks a navigation event of the run's tab. `None`: allowed, the run goes on.
    /// Otherwise the run is stopped: a note records where the tab went, the run ends with
    /// `navigation-blocked`, and the returned todo is its `done`. Call it only between todos
    /// (no act in flight): the pending effect is dropped unperformed.
    pub fn guard_navigation(
        &mut self,
        s: &mut Session,
        event: &NavEvent,
        now: &Now,
    ) -> Option<Todo> {
        let Verdict::Block { origin, reason } = check(&s.checked.origins, self.policy(), event)
        else {
            return None;
        };
        let what = event.describe();
        let note = format!("navigation guard: {what} to `{origin}`, {reason}; the run was stopped");
        let key = self.key().clone();
        // A failing note does not keep the run alive: the run-end still records the error,
        // and if the log refuses that too, the result says so.
        let noted = self
            .audit
            .record(EntryDraft::note(now.timestamp(), note), &key)
            .err()
            .map(|e| format!("the audit log could not record the navigation guard's stop: {e}"));
        s.pending = s.machine.abort(RunError::NavigationBlocked {
            step: None,
            what: what.to_owned(),
            origin,
            reason,
        });
        let mut todo = self.advance(s, None, now);
        if let (Some(warning), Todo::Done { result }) = (noted, &mut todo) {
            result.warnings.push(warning);
        }
        Some(todo)
    }
}

#[cfg(test)]
mod tests;
