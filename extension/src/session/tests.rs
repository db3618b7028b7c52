//! A run driven natively the way background.ts drives it: hand-made snapshots stand in for
//! the content script, and every todo is answered as JavaScript would answer it.

use super::*;
use crate::instance::Stored;
use crate::session::FrameBase;
use crate::testkit::{self, instance, now};
use bridle_executor::page::HitState;

const URL: &str = "https://shop.example/cart";

const SCRIPT: &str = "bridle 1\n\
goal \"Buy\"\n\
origins \"https://shop.example\"\n\
\n\
navigate \"https://shop.example/cart\"\n\
click button \"Add\"\n\
submit button \"Place order\"\n\
return \"done\"\n";

fn token(instance: &Instance) -> String {
    testkit::token(
        instance,
        "run-1",
        SCRIPT,
        &["https://shop.example"],
        &[Verb::Navigate, Verb::Click, Verb::Submit],
    )
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
    drive_with(choice, place_after_approval, HitState::Hit)
}

/// Every probe of a late hit test answered `state`.
pub(super) fn all(probes: &[Handle], state: HitState) -> Input {
    Input::Hits {
        hits: probes
            .iter()
            .map(|h| HitReport {
                frame: h.frame,
                node: h.node,
                state,
                by: None,
            })
            .collect(),
    }
}

/// As [`drive`], with the late hit tests after the approval answered `place_hit`.
fn drive_with(
    choice: ApprovalChoice,
    place_after_approval: u32,
    place_hit: HitState,
) -> (RunResult, Vec<Todo>, Instance) {
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
            Todo::HitTest { probes } => {
                all(probes, if approved { place_hit } else { HitState::Hit })
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
    testkit::verified_log(instance).1
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
fn a_button_covered_after_approval_is_refused_before_acting() {
    // After the approval, something covers the approved button: the late hit test says so.
    let (result, todos, mut instance) = drive_with(ApprovalChoice::Once, 4, HitState::Covered);
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, "act-failed", "{}", error.message);
    assert!(error.message.contains("covered"), "{}", error.message);
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
fn an_element_gone_before_its_hit_test_is_not_acted_on() {
    let (result, todos, _) = drive_with(ApprovalChoice::Once, 4, HitState::Gone);
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    assert!(result
        .error
        .unwrap()
        .message
        .contains("no longer on the page"));
    assert!(!todos.iter().any(|t| matches!(
        t,
        Todo::Act {
            action: Action::Submit,
            ..
        }
    )));
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
    let (log, report) = testkit::verified(&restarted);
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

/// The shop page as the content script numbers it: document `d`, snapshot `version`; with
/// `base`, an update that changed nothing since snapshot `base`.
fn numbered(version: u64, base: Option<u64>) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&page(3, 4)).unwrap();
    let frame = &mut v["frames"][0];
    frame["doc"] = serde_json::json!("d");
    frame["version"] = serde_json::json!(version);
    if let Some(base) = base {
        frame["base"] = serde_json::json!(base);
        frame["nodes"] = serde_json::json!([]);
    }
    v.to_string()
}

/// Runs the shop script (approving once) with the snapshots `next(n)` gives for the `n`th
/// snapshot (1-based); returns the result and the bases seen before each snapshot.
fn drive_numbered(next: impl Fn(u64) -> String) -> (RunResult, Vec<Vec<FrameBase>>) {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, mut todo) = instance.start_run(SCRIPT, &token, &now()).unwrap();
    let (mut navigated, mut n, mut bases) = (false, 0, Vec::new());
    loop {
        let input = match &todo {
            Todo::Done { result } => return ((**result).clone(), bases),
            Todo::Snapshot { .. } if !navigated => Input::Blank,
            Todo::Snapshot { .. } => {
                n += 1;
                bases.push(session.snapshot_bases());
                Input::Snapshot { snapshot: next(n) }
            }
            Todo::Navigate { .. } => {
                navigated = true;
                Input::Acted {
                    result: ActResult::done(),
                }
            }
            Todo::HitTest { probes } => all(probes, HitState::Hit),
            Todo::Act { .. } => Input::Acted {
                result: ActResult::done(),
            },
            Todo::Approve { .. } => Input::Approval {
                choice: ApprovalChoice::Once,
            },
            other => panic!("unexpected todo {other:?}"),
        };
        todo = instance.step_run(&mut session, input, &now());
    }
}

#[test]
fn snapshots_after_the_first_may_be_only_the_changes_since_the_last_one_read() {
    // The first snapshot whole; every later one "nothing changed since the last".
    let (result, bases) = drive_numbered(|n| numbered(n, (n > 1).then(|| n - 1)));
    assert_eq!(
        result.outcome,
        report::RunOutcome::Completed,
        "{:?}",
        result.error
    );
    assert!(bases[0].is_empty());
    assert_eq!(
        bases[1],
        vec![FrameBase {
            frame: 0,
            doc: "d".into(),
            version: 1
        }]
    );
    assert!(bases.len() >= 3);
}

#[test]
fn an_update_of_a_snapshot_the_run_did_not_read_fails_the_step() {
    // The second snapshot claims a base the run never read.
    let (result, bases) = drive_numbered(|n| numbered(n, (n == 2).then_some(7)));
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    let error = result.error.unwrap();
    assert!(
        error.candidates.iter().any(|c| c.contains("stale-base")),
        "{error:?}"
    );
    // The first snapshot was read and offered as the base of the second.
    assert_eq!(bases.len(), 2);
    assert_eq!(bases[1].len(), 1);
}
