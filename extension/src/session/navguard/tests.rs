//! The guard's decisions on each kind of destination, and a run stopped by it: the note and
//! the run-end in a log that verifies, nothing acted after the stop.

use super::*;
use crate::report::RunOutcome;
use crate::session::Input;
use crate::testkit::{self, instance, now};
use bridle_executor::audit::AuditStore;
use bridle_executor::engine::ActResult;

const HOME: &str = "http://127.0.0.1:4000";

const SCRIPT: &str = "bridle 1\n\
goal \"Read the page\"\n\
origins \"http://127.0.0.1:4000\"\n\
\n\
navigate \"http://127.0.0.1:4000/start\"\n\
click button \"Next\"\n\
return \"done\"\n";

fn policy(extra: &str) -> Policy {
    Policy::from_toml(extra).unwrap()
}

fn event(kind: NavKind, url: &str, qualifiers: &[&str]) -> NavEvent {
    NavEvent {
        kind,
        url: url.to_owned(),
        qualifiers: qualifiers.iter().map(|q| (*q).to_owned()).collect(),
    }
}

fn committed(url: &str) -> NavEvent {
    event(NavKind::Committed, url, &[])
}

fn origins() -> Vec<String> {
    vec![HOME.to_owned()]
}

fn blocked(verdict: Verdict) -> (String, String) {
    match verdict {
        Verdict::Block { origin, reason } => (origin, reason),
        Verdict::Allow => panic!("expected a block"),
    }
}

#[test]
fn a_navigation_within_the_scripts_origins_is_allowed() {
    let p = policy("");
    for url in [
        "http://127.0.0.1:4000/",
        "http://127.0.0.1:4000/a/b?q=1#x",
        "HTTP://127.0.0.1:4000/upper",
    ] {
        assert_eq!(
            check(&origins(), &p, &committed(url)),
            Verdict::Allow,
            "{url}"
        );
    }
}

#[test]
fn another_port_or_host_name_of_the_same_machine_is_a_foreign_origin() {
    let p = policy("");
    for url in [
        "http://127.0.0.1:4001/",
        "http://localhost:4000/",
        "https://127.0.0.1:4000/",
    ] {
        let (origin, reason) = blocked(check(&origins(), &p, &committed(url)));
        assert_eq!(reason, "which is not among the script's origins", "{url}");
        assert!(url.starts_with(&origin), "{origin} for {url}");
    }
}

#[test]
fn only_the_empty_page_is_allowed_outside_the_origins() {
    let p = policy("");
    assert_eq!(
        check(&origins(), &p, &committed("about:blank")),
        Verdict::Allow
    );
    for (url, shown) in [
        ("about:srcdoc", "about:"),
        ("about:blank#x", "about:"),
        ("data:text/html,<h1>hi</h1>", "data:"),
        ("javascript:alert(1)", "javascript:"),
        ("chrome-error://chromewebdata/", "chrome-error:"),
        ("file:///etc/passwd", "file:"),
    ] {
        let (origin, _) = blocked(check(&origins(), &p, &committed(url)));
        assert_eq!(origin, shown, "{url}");
    }
    let (origin, reason) = blocked(check(&origins(), &p, &committed("not a url")));
    assert_eq!(origin, "an unreadable URL");
    assert_eq!(reason, "whose scheme the policy blocks");
}

#[test]
fn a_scheme_the_policy_blocks_is_blocked_even_on_a_listed_origin() {
    let p = policy("[defaults]\nblocked_schemes = [\"ftp\"]\n");
    let listed = vec!["ftp://127.0.0.1:21".to_owned()];
    let (_, reason) = blocked(check(&listed, &p, &committed("ftp://127.0.0.1:21/x")));
    assert_eq!(reason, "whose scheme the policy blocks");
}

#[test]
fn a_site_rule_denying_navigate_blocks_a_listed_origin() {
    let p = policy("[[site]]\norigin = \"http://127.0.0.1:4000\"\ndeny = [\"navigate\"]\n");
    let (origin, reason) = blocked(check(&origins(), &p, &committed("http://127.0.0.1:4000/x")));
    assert_eq!(origin, HOME);
    assert!(
        reason.starts_with("where the policy denies navigation"),
        "{reason}"
    );
}

#[test]
fn urls_are_read_up_to_the_limit_and_longer_ones_are_blocked() {
    let p = policy("");
    let prefix = "http://127.0.0.1:4000/";
    let at_limit = format!(
        "{prefix}{}",
        "a".repeat(MAX_GUARDED_URL_BYTES - prefix.len())
    );
    assert_eq!(at_limit.len(), MAX_GUARDED_URL_BYTES);
    assert_eq!(check(&origins(), &p, &committed(&at_limit)), Verdict::Allow);
    let over = format!("{at_limit}a");
    let (origin, reason) = blocked(check(&origins(), &p, &committed(&over)));
    assert_eq!(origin, HOME);
    assert!(reason.contains("longer than the guard reads"), "{reason}");
}

#[test]
fn each_kind_of_event_is_named() {
    let url = "http://localhost:1/";
    assert_eq!(
        event(NavKind::NewTab, url, &[]).describe(),
        "a new tab opened by the page"
    );
    assert_eq!(
        event(NavKind::Committed, url, &["server_redirect"]).describe(),
        "a server redirect"
    );
    assert_eq!(
        event(
            NavKind::Committed,
            url,
            &["client_redirect", "from_address_bar"]
        )
        .describe(),
        "a redirect by the page (meta refresh or script)"
    );
    assert_eq!(
        event(NavKind::Committed, url, &[]).describe(),
        "a navigation of the run's tab"
    );
    assert_eq!(
        event(NavKind::SameDocument, url, &[]).describe(),
        "a change of the page's URL"
    );
}

#[test]
fn events_are_read_strictly() {
    let ok: NavEvent = serde_json::from_str(
        r#"{"kind": "new-tab", "url": "http://x.example/", "qualifiers": []}"#,
    )
    .unwrap();
    assert_eq!(ok.kind, NavKind::NewTab);
    assert!(
        serde_json::from_str::<NavEvent>(r#"{"kind": "committed", "url": "x", "tab": 1}"#).is_err()
    );
    assert!(serde_json::from_str::<NavEvent>(r#"{"kind": "teleported", "url": "x"}"#).is_err());
}

// ---- a run stopped by the guard ----

fn token(instance: &Instance) -> String {
    testkit::token(
        instance,
        "run-1",
        SCRIPT,
        &[HOME],
        &[Verb::Navigate, Verb::Click],
    )
}

fn log_of(instance: &Instance) -> Vec<serde_json::Value> {
    testkit::verified_log(instance)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn page() -> String {
    serde_json::json!({"frames": [{
        "id": 0, "origin": HOME, "url": "http://127.0.0.1:4000/start", "root": 1,
        "scroll": [0, 0], "viewport": [800, 600], "truncated": false,
        "nodes": [
            {"id": 1, "tag": "html", "kids": [2], "box": [0, 0, 800, 600], "visible": true},
            {"id": 2, "tag": "body", "kids": [3], "box": [0, 0, 800, 600], "visible": true},
            {"id": 3, "tag": "button", "kids": ["Next"], "box": [10, 10, 80, 20], "visible": true, "hit": true}
        ]
    }]})
    .to_string()
}

/// Answers todos as background.ts would until `stop` holds for one.
fn drive_until(
    instance: &mut Instance,
    session: &mut Session,
    mut todo: Todo,
    stop: impl Fn(&Todo) -> bool,
) -> Todo {
    let mut navigated = false;
    for _ in 0..64 {
        if stop(&todo) {
            return todo;
        }
        let input = match &todo {
            Todo::Snapshot { .. } if !navigated => Input::Blank,
            Todo::Snapshot { .. } => Input::Snapshot { snapshot: page() },
            Todo::Navigate { .. } => {
                navigated = true;
                Input::Acted {
                    result: ActResult::done(),
                }
            }
            Todo::HitTest { probes } => {
                crate::session::tests::all(probes, bridle_executor::page::HitState::Hit)
            }
            Todo::Act { .. } => Input::Acted {
                result: ActResult::done(),
            },
            other => panic!("unexpected todo {other:?}"),
        };
        todo = instance.step_run(session, input, &now());
    }
    panic!("the run never reached the todo")
}

#[test]
fn a_redirect_off_the_origins_stops_the_run_with_a_note_and_a_typed_error() {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, todo) = instance.start_run(SCRIPT, &token, &now()).unwrap();
    drive_until(&mut instance, &mut session, todo, |t| {
        matches!(t, Todo::Navigate { .. })
    });
    // The start page commits on the script's origin: allowed, the run goes on.
    let home = committed("http://127.0.0.1:4000/start");
    assert_eq!(instance.guard_navigation(&mut session, &home, &now()), None);
    let todo = instance.step_run(
        &mut session,
        Input::Acted {
            result: ActResult::done(),
        },
        &now(),
    );
    assert!(!matches!(todo, Todo::Done { .. }), "{todo:?}");
    // Then the page sends the tab elsewhere, path and query included.
    let away = event(
        NavKind::Committed,
        "http://localhost:4000/phish?session=s3cret",
        &["server_redirect"],
    );
    let Some(Todo::Done { result }) = instance.guard_navigation(&mut session, &away, &now()) else {
        panic!("the run was not stopped")
    };
    assert_eq!(result.outcome, RunOutcome::Failed);
    let error = result.error.as_ref().unwrap();
    assert_eq!(error.code, "navigation-blocked");
    assert_eq!(
        error.message,
        "the run was stopped: a server redirect to `http://localhost:4000`, which is not among the script's origins"
    );
    // The click was stopped while its target was being resolved: it never acted.
    let verbs: Vec<_> = result.steps.iter().map(|s| (s.verb, s.ok)).collect();
    assert_eq!(verbs, [(Verb::Navigate, true), (Verb::Click, false)]);
    let entries = log_of(&instance);
    let note = entries.iter().rfind(|e| e["kind"] == "note").unwrap();
    assert_eq!(
        note["text"],
        "navigation guard: a server redirect to `http://localhost:4000`, which is not among the script's origins; the run was stopped"
    );
    let end = entries.last().unwrap();
    assert_eq!(end["kind"], "run-end");
    assert_eq!(end["result"]["error"], "navigation-blocked");
    // The URL's path and query are in neither.
    let all: String = instance.audit.store().lines().unwrap().concat();
    assert!(!all.contains("s3cret") && !all.contains("phish"));
    assert!(!error.message.contains("s3cret"));
}

#[test]
fn a_stop_while_an_act_is_pending_closes_the_started_step_without_acting() {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, todo) = instance.start_run(SCRIPT, &token, &now()).unwrap();
    drive_until(&mut instance, &mut session, todo, |t| {
        matches!(t, Todo::Act { .. })
    });
    let away = event(NavKind::NewTab, "http://localhost:4000/", &[]);
    let Some(Todo::Done { result }) = instance.guard_navigation(&mut session, &away, &now()) else {
        panic!("the run was not stopped")
    };
    assert_eq!(result.error.as_ref().unwrap().code, "navigation-blocked");
    let click = result.steps.last().unwrap();
    assert_eq!((click.verb, click.ok), (Verb::Click, false));
    assert_eq!(click.error.as_deref(), Some("navigation-blocked"));
    let entries = log_of(&instance);
    let kinds: Vec<_> = entries
        .iter()
        .rev()
        .take(3)
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, ["run-end", "step-result", "note"]);
    assert_eq!(
        entries[entries.len() - 2]["result"]["error"],
        "navigation-blocked"
    );
}
