//! Target resolution on a page snapshot for the service worker: parses a one-line target
//! with the script parser and resolves it with `bridle_executor::page` (used by the browser
//! tests through `self.bridleTest`); and the page reads a run answers from a snapshot (the
//! title, a table, the amount shown) as the engine's values. No decisions here.

use bridle_dsl::ast::{Line, StmtKind, Target};
use bridle_executor::engine::Value;
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

/// Resolves every one-line target of `targets` in the snapshot `json`, parsed and indexed once
/// (the benchmark's view of resolution: what one snapshot version costs for many targets).
pub fn resolve_targets(json: &str, targets: &[String], purpose: Purpose) -> Vec<TargetReport> {
    let snapshot = match Snapshot::from_json(json) {
        Ok(s) => s,
        Err(e) => return vec![TargetReport::failed(e.code(), e.to_string(), e.help())],
    };
    targets
        .iter()
        .map(|text| match parse_target(text) {
            Ok(target) => match page::resolve_target(&snapshot, &target, &|_| None, purpose) {
                Ok(found) => TargetReport::Found {
                    ok: true,
                    role: found.facts.role.clone(),
                    name: found.facts.name.clone(),
                    handle: found.handle,
                    hit: found.hit,
                },
                Err(e) => failed(&e),
            },
            Err(message) => {
                TargetReport::failed("bad-target", message, "write the target as in a step")
            }
        })
        .collect()
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

/// `title`: the top frame's document title.
pub fn title_value(snapshot: &Snapshot) -> Result<Value, String> {
    page::title(snapshot)
        .map(|t| Value::Text(t.to_owned()))
        .ok_or_else(|| "the page has no top frame".to_owned())
}

/// `table T`: the table at `handle` as a list of records keyed by column header.
pub fn table_value(snapshot: &Snapshot, handle: Handle) -> Result<Value, String> {
    let rows = page::table(snapshot, handle).map_err(|e| e.to_string())?;
    Ok(Value::List(
        rows.into_iter()
            .map(|row| {
                Value::Record(
                    row.into_iter()
                        .map(|(key, text)| (key, Value::Text(text)))
                        .collect(),
                )
            })
            .collect(),
    ))
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
    fn reads_title_table_and_amount_as_values() {
        let json = r#"{"frames": [{"id": 0, "origin": "http://127.0.0.1:8080",
            "url": "http://127.0.0.1:8080/", "title": "Cart", "root": 1, "nodes": [
              {"id": 1, "tag": "html", "kids": [2]},
              {"id": 2, "tag": "body", "kids": [3, 6]},
              {"id": 3, "tag": "table", "kids": [4, 5]},
              {"id": 4, "tag": "tr", "kids": [7]},
              {"id": 7, "tag": "th", "kids": ["Item"]},
              {"id": 5, "tag": "tr", "kids": [8]},
              {"id": 8, "tag": "td", "kids": ["Cable"]},
              {"id": 6, "tag": "p", "kids": ["Total: 5.00 EUR"]}
            ]}]}"#;
        let snap = Snapshot::from_json(json).unwrap();
        assert_eq!(title_value(&snap), Ok(Value::Text("Cart".to_owned())));
        let rows = table_value(&snap, Handle { frame: 0, node: 3 }).unwrap();
        assert_eq!(
            rows,
            Value::List(vec![Value::Record(
                [("Item".to_owned(), Value::Text("Cable".to_owned()))].into()
            )])
        );
        assert!(table_value(&snap, Handle { frame: 0, node: 6 })
            .unwrap_err()
            .contains("not a table"));
        let amount = page::page_amount(&snap).unwrap();
        assert_eq!((amount.currency.as_str(), amount.value), ("EUR", 5.0));
        assert!(Snapshot::from_json("{}").is_err());
    }

    #[test]
    fn resolves_many_targets_on_one_snapshot() {
        let got = resolve_targets(
            PAGE,
            &[r#"button "Buy""#.to_owned(), "buton".to_owned()],
            Purpose::Observe,
        );
        assert!(matches!(&got[0], TargetReport::Found { name, .. } if name == "Buy"));
        assert!(matches!(&got[1], TargetReport::Failed { code, .. } if code == "bad-target"));
        assert_eq!(resolve_targets("{}", &[], Purpose::Act).len(), 1);
    }

    #[test]
    fn describes_every_element() {
        let all = describe_page(PAGE).unwrap();
        let buy = all.iter().find(|d| d.handle.node == 3).unwrap();
        assert_eq!((buy.role, buy.name.as_str()), (Some("button"), "Buy"));
        assert!(describe_page("[]").unwrap_err().starts_with("malformed: "));
    }
}
