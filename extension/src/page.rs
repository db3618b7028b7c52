//! Target resolution on a page snapshot for the service worker: parses a one-line target
//! with the script parser and resolves it with `bridle_executor::page`. Used by the browser
//! tests (`self.bridleTest`) until the engine resolves steps itself; no decisions here.

use bridle_dsl::ast::{Line, StmtKind, Target};
pub use bridle_executor::page::Purpose;
use bridle_executor::page::{self, Handle, ResolveError, Snapshot};
use serde::Serialize;

/// Longest target text accepted, in bytes: a step's target is one line of a script.
pub const MAX_TARGET_BYTES: usize = 4 * 1024;

/// What [`resolve_target`] returns: the element, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TargetReport {
    Found {
        ok: bool,
        role: String,
        name: String,
        handle: Handle,
        hit: Option<bool>,
    },
    Failed {
        ok: bool,
        code: String,
        message: String,
        help: String,
        candidates: Vec<String>,
    },
}

impl TargetReport {
    fn failed(code: &str, message: String, help: &str) -> TargetReport {
        TargetReport::Failed {
            ok: false,
            code: code.to_owned(),
            message,
            help: help.to_owned(),
            candidates: Vec::new(),
        }
    }
}

/// Parses `text` as the target of one step (`button "Buy" in dialog "Cart"`).
fn parse_target(text: &str) -> Result<Target, String> {
    if text.len() > MAX_TARGET_BYTES || text.contains(['\n', '\r']) {
        return Err(format!(
            "a target is one line of at most {MAX_TARGET_BYTES} bytes"
        ));
    }
    let script =
        format!("bridle 1\ngoal \"resolve\"\norigins \"https://a.example\"\nhover {text}\n");
    let parsed = bridle_dsl::parser::parse(&script).map_err(|diags| {
        diags.first().map_or_else(
            || "the target does not parse".to_owned(),
            |d| d.message.clone(),
        )
    })?;
    parsed
        .lines
        .into_iter()
        .find_map(|line| match line {
            Line::Stmt(stmt) => match stmt.kind {
                StmtKind::Hover(target) => Some(target),
                _ => None,
            },
            _ => None,
        })
        .ok_or_else(|| format!("`{text}` is not a target"))
}

/// Resolves the one-line `target` in the snapshot `json` for `purpose`.
pub fn resolve_target(json: &str, target: &str, purpose: Purpose) -> TargetReport {
    let snapshot = match Snapshot::from_json(json) {
        Ok(s) => s,
        Err(e) => return TargetReport::failed(e.code(), e.to_string(), e.help()),
    };
    let target = match parse_target(target) {
        Ok(t) => t,
        Err(message) => {
            return TargetReport::failed(
                "bad-target",
                message,
                "write the target as in a step, e.g. `button \"Buy\"`",
            )
        }
    };
    match page::resolve_target(&snapshot, &target, &|_| None, purpose) {
        Ok(found) => TargetReport::Found {
            ok: true,
            role: found.facts.role.clone(),
            name: found.facts.name.clone(),
            handle: found.handle,
            hit: found.hit,
        },
        Err(e) => failed(&e),
    }
}

fn failed(e: &ResolveError) -> TargetReport {
    TargetReport::Failed {
        ok: false,
        code: e.code().to_owned(),
        message: e.to_string(),
        help: e.help().to_owned(),
        candidates: e.candidate_lines(),
    }
}

/// Every element's role and name (`page::describe`), or the snapshot's error.
pub fn describe_page(json: &str) -> Result<Vec<page::Described>, String> {
    let snapshot = Snapshot::from_json(json).map_err(|e| format!("{}: {e}", e.code()))?;
    Ok(page::describe(&snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"frames": [{"id": 0, "origin": "http://127.0.0.1:8080",
        "url": "http://127.0.0.1:8080/", "root": 1, "scroll": [0, 0], "viewport": [800, 600],
        "nodes": [
          {"id": 1, "tag": "html", "kids": [2]},
          {"id": 2, "tag": "body", "kids": [3, 4, 5]},
          {"id": 3, "tag": "button", "kids": ["Buy"], "box": [0, 0, 50, 20], "visible": true, "hit": true},
          {"id": 4, "tag": "button", "kids": ["Twice"], "box": [0, 30, 50, 20], "visible": true, "hit": false, "hit_by": 5},
          {"id": 5, "tag": "button", "kids": ["Twice"], "box": [0, 30, 50, 20], "visible": true, "hit": true}
        ]}]}"#;

    #[test]
    fn resolves_a_target_to_role_name_and_handle() {
        let report = resolve_target(PAGE, r#"button "Buy""#, Purpose::Act);
        assert_eq!(
            report,
            TargetReport::Found {
                ok: true,
                role: "button".to_owned(),
                name: "Buy".to_owned(),
                handle: Handle { frame: 0, node: 3 },
                hit: Some(true),
            }
        );
    }

    #[test]
    fn reports_the_typed_error_with_candidates() {
        let TargetReport::Failed {
            code,
            message,
            candidates,
            ..
        } = resolve_target(PAGE, r#"button "Twice""#, Purpose::Observe)
        else {
            panic!("expected a failure");
        };
        assert_eq!(code, "ambiguous");
        assert!(message.contains("matches 2 elements"), "{message}");
        assert_eq!(candidates.len(), 2);
    }

    #[test]
    fn refuses_a_target_on_two_lines_or_past_the_limit() {
        let TargetReport::Failed { code, message, .. } =
            resolve_target(PAGE, "button \"Buy\"\nclick button", Purpose::Observe)
        else {
            panic!("expected a failure");
        };
        assert_eq!(code, "bad-target");
        assert_eq!(message, "a target is one line of at most 4096 bytes");
        let at_limit = format!("button \"{}\"", "x".repeat(MAX_TARGET_BYTES - 9));
        assert_eq!(at_limit.len(), MAX_TARGET_BYTES);
        let TargetReport::Failed { code, .. } = resolve_target(PAGE, &at_limit, Purpose::Observe)
        else {
            panic!("expected not-found");
        };
        assert_eq!(code, "not-found");
        let past = format!("{at_limit} ");
        let TargetReport::Failed { code, .. } = resolve_target(PAGE, &past, Purpose::Observe)
        else {
            panic!("expected a failure");
        };
        assert_eq!(code, "bad-target");
    }

    #[test]
    fn reports_a_bad_snapshot_and_a_bad_target() {
        let TargetReport::Failed { code, .. } = resolve_target("{}", "button", Purpose::Act) else {
            panic!("expected a failure");
        };
        assert_eq!(code, "malformed");
        let TargetReport::Failed { code, message, .. } =
            resolve_target(PAGE, "buton \"Buy\"", Purpose::Act)
        else {
            panic!("expected a failure");
        };
        assert_eq!(code, "bad-target");
        assert!(message.starts_with("unknown role `buton`"), "{message}");
    }

    #[test]
    fn describes_every_element() {
        let all = describe_page(PAGE).unwrap();
        let buy = all.iter().find(|d| d.handle.node == 3).unwrap();
        assert_eq!((buy.role, buy.name.as_str()), (Some("button"), "Buy"));
        assert!(describe_page("[]").unwrap_err().starts_with("malformed: "));
    }
}
