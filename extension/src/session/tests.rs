//! A run driven natively the way background.ts drives it: hand-made snapshots stand in for
//! the content script, and every todo is answered as JavaScript would answer it.

use super::*;
use crate::instance::Stored;
use bridle_executor::audit::{verify_log, AuditStore, KeyPin};
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_public_key, key_id};
use bridle_executor::time::macros::datetime;
use bridle_executor::time::Duration;
use bridle_executor::token::{mint, Claims, Grant, ScriptHash};

const T0: OffsetDateTime = datetime!(2025-06-01 10:00 UTC);
const URL: &str = "https://shop.example/cart";

const SCRIPT: &str = "bridle 1\n\
goal \"Buy\"\n\
origins \"https://shop.example\"\n\
\n\
navigate \"https://shop.example/cart\"\n\
click button \"Add\"\n\
submit button \"Place order\"\n\
return \"done\"\n";

fn now() -> Now {
    Now::new(T0).unwrap()
}

fn planner() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

fn instance() -> Instance {
    let public = planner().verifying_key();
    let policy = format!(
        "[[planner]]\nname = \"test-planner\"\nkid = \"{}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n",
        key_id(&public),
        encode_public_key(&public)
    );
    let mut instance = Instance::load(Stored::default(), &now(), || {
        SigningKey::from_bytes(&[1; 32])
    })
    .unwrap();
    assert!(instance.set_policy(&policy, &now()).ok);
    instance
}

fn token(instance: &Instance) -> String {
    let claims = Claims {
        v: 1,
        iss: "test-planner".into(),
        aud: instance.instance_id().to_owned(),
        iat: T0,
        nbf: T0,
        exp: T0 + Duration::minutes(5),
        jti: "run-1".into(),
        uses: 1,
        script: Some(ScriptHash::of(SCRIPT.as_bytes())),
        grants: vec![Grant {
            origins: Some(vec!["https://shop.example".into()]),
            verbs: Some(vec![Verb::Navigate, Verb::Click, Verb::Submit]),
            ..Grant::default()
        }],
    };
    mint(
        &claims,
        &key_id(&planner().verifying_key()),
        &planner(),
        instance.instance_id(),
    )
    .unwrap()
}

/// The shop page: an "Add" button (node `add`) and a "Place order" button (node `place`).
fn page(add: u32, place: u32) -> String {
    serde_json::json!({"frames": [{
        "id": 0, "origin": "https://shop.example", "url": URL, "root": 1,
        "scroll": [0, 0], "viewport": [800, 600], "truncated": false,
        "nodes": [
            {"id": 1, "tag": "html", "kids": [2], "box": [0, 0, 800, 600], "visible": true},
            {"id": 2, "tag": "body", "kids": [add, place], "box": [0, 0, 800, 600], "visible": true},
            {"id": add, "tag": "button", "kids": ["Add"], "box": [10, 10, 80, 20], "visible": true, "hit": true},
            {"id": place, "tag": "button", "kids": ["Place order"], "box": [10, 40, 80, 20], "visible": true, "hit": true}
        ]
    }]})
    .to_string()
}

/// Answers todos until the run is done: `choice` answers the approval window, and
/// `place_after_approval` is the "Place order" button's node id in the snapshots taken after
/// it (4 is the button that was approved).
fn drive(choice: ApprovalChoice, place_after_approval: u32) -> (RunResult, Vec<Todo>, Instance) {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, mut todo) = instance.start_run(SCRIPT, &token, &now()).unwrap();
    let mut seen = Vec::new();
    let mut navigated = false;
    let mut approved = false;
    loop {
        seen.push(todo.clone());
        let input = match &todo {
            Todo::Done { result } => return ((**result).clone(), seen, instance),
            Todo::Snapshot { .. } if !navigated => Input::Blank,
            Todo::Snapshot { .. } => Input::Snapshot {
                snapshot: page(3, if approved { place_after_approval } else { 4 }),
            },
            Todo::Navigate { .. } => {
                navigated = true;
                Input::Acted {
                    result: ActResult::done(),
                }
            }
            Todo::Act { .. } => Input::Acted {
                result: ActResult::done(),
            },
            Todo::Approve { request, .. } => {
                assert_eq!(request.element.as_ref().unwrap().name, "Place order");
                approved = true;
                Input::Approval { choice }
            }
            other => panic!("unexpected todo {other:?}"),
        };
        todo = instance.step_run(&mut session, input, &now());
    }
}

fn verified(instance: &mut Instance) -> u64 {
    let log: String = instance
        .audit
        .store()
        .lines()
        .unwrap()
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    verify_log(
        log.as_bytes(),
        &KeyPin::Instance(instance.instance_id().to_owned()),
    )
    .unwrap()
    .entries
}

#[test]
fn a_run_navigates_clicks_and_submits_after_approval_and_the_log_verifies() {
    let (result, todos, mut instance) = drive(ApprovalChoice::Once, 4);
    assert_eq!(
        result.outcome,
        report::RunOutcome::Completed,
        "{:?}",
        result.error
    );
    assert_eq!(result.value, serde_json::json!("done"));
    let acts: Vec<_> = todos
        .iter()
        .filter_map(|t| match t {
            Todo::Act { handle, action } => Some((handle.node, action.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(acts, vec![(3, Action::Click), (4, Action::Submit)]);
    let steps: Vec<_> = result
        .steps
        .iter()
        .map(|s| (s.verb, s.approval, s.ok))
        .collect();
    use bridle_executor::engine::Approval;
    assert_eq!(
        steps,
        vec![
            (Verb::Navigate, None, true),
            (Verb::Click, None, true),
            (Verb::Submit, Some(Approval::Once), true),
            (Verb::Return, None, true),
        ]
    );
    // log-start, policy note, run-start, 3 × (step, step-result), return's step pair, run-end.
    assert!(verified(&mut instance) >= 10);
}

#[test]
fn a_denied_submit_never_reaches_the_content_script() {
    let (result, todos, mut instance) = drive(ApprovalChoice::Deny, 4);
    assert_eq!(result.outcome, report::RunOutcome::Denied);
    assert_eq!(result.error.as_ref().unwrap().code, "not-approved");
    assert!(!todos.iter().any(|t| matches!(
        t,
        Todo::Act {
            action: Action::Submit,
            ..
        }
    )));
    verified(&mut instance);
}

#[test]
fn a_button_swapped_after_approval_is_refused_before_acting() {
    // The page replaced the approved button (node 4) by a look-alike (node 5).
    let (result, todos, mut instance) = drive(ApprovalChoice::Once, 5);
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, "act-failed", "{}", error.message);
    assert!(error.message.contains("gone"), "{}", error.message);
    assert!(!todos.iter().any(|t| matches!(
        t,
        Todo::Act {
            action: Action::Submit,
            ..
        }
    )));
    verified(&mut instance);
}

#[test]
fn a_run_cut_off_by_a_restart_is_recorded_as_interrupted_and_its_token_stays_used() {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, mut todo) = instance
        .start_run(SCRIPT, &token, &now())
        .expect("the run starts");
    // Up to the navigation: the first step is written ahead of acting, so the log now has an
    // open run and an open step.
    while !matches!(todo, Todo::Navigate { .. }) {
        let input = match &todo {
            Todo::Snapshot { .. } => Input::Blank,
            other => panic!("unexpected todo {other:?}"),
        };
        todo = instance.step_run(&mut session, input, &now());
    }
    drop(session);
    let stored = Stored {
        secret_key: Some(instance.secret_key()),
        policy: Some(instance.policy_text().to_owned()),
        replay: Some(instance.replay_state()),
        audit_log: Some(
            instance
                .take_audit_lines()
                .iter()
                .map(|l| format!("{l}\n"))
                .collect(),
        ),
        vault: None,
    };
    // The service worker starts again from what was stored.
    let mut restarted = Instance::load(stored, &now(), || panic!("the key was stored")).unwrap();
    assert!(
        restarted
            .warnings()
            .iter()
            .any(|w| w.contains("interrupted")),
        "{:?}",
        restarted.warnings()
    );
    let log: String = restarted
        .audit
        .store()
        .lines()
        .unwrap()
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let report = verify_log(
        log.as_bytes(),
        &KeyPin::Instance(restarted.instance_id().to_owned()),
    )
    .unwrap();
    assert!(
        report.open_runs.is_empty() && report.open_steps.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        log.matches(crate::instance::INTERRUPTED).count(),
        2,
        "the step and the run"
    );
    // The token was used by the interrupted run: it cannot start it again.
    let again = restarted.start_run(SCRIPT, &token, &now());
    let Err(result) = again else {
        panic!("a used token must not run again after a restart");
    };
    assert_eq!(result.token.code, Some("replayed"));
    // A second start finds nothing open.
    assert_eq!(restarted.close_interrupted(&now()).unwrap(), 0);
}
