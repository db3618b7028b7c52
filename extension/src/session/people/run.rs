//! A run with a handoff and an upload driven natively the way run.ts drives it: the handoff
//! window's answer, the upload window's file (its name, size and digest only), the audit log's
//! observation and the result's upload record.

use super::super::*;
use crate::testkit::{self, instance, now};
use bridle_executor::page::{HitReport, HitState};
use people::{ChosenFile, FileChoice, MAX_UPLOAD_BYTES};

const SCRIPT: &str = "bridle 1\n\
goal \"Send the receipt\"\n\
origins \"https://shop.example\"\n\
\n\
navigate \"https://shop.example/claim\"\n\
handoff \"Please sign in, then press Continue\"\n\
upload css \"#receipt\"\n\
return \"done\"\n";

fn token(instance: &Instance) -> String {
    testkit::token(
        instance,
        "run-people",
        SCRIPT,
        &["https://shop.example"],
        &[Verb::Navigate, Verb::Upload],
    )
}

/// The claim page: a visible `<input type=file id=receipt>` (node 3).
fn page() -> String {
    serde_json::json!({"frames": [{
        "id": 0, "origin": "https://shop.example", "url": "https://shop.example/claim", "root": 1,
        "scroll": [0, 0], "viewport": [800, 600], "truncated": false,
        "css": {"#receipt": [3]},
        "nodes": [
            {"id": 1, "tag": "html", "kids": [2], "box": [0, 0, 800, 600], "visible": true},
            {"id": 2, "tag": "body", "kids": [3], "box": [0, 0, 800, 600], "visible": true},
            {"id": 3, "tag": "input", "attrs": {"type": "file", "id": "receipt"},
             "box": [10, 10, 200, 20], "visible": true, "hit": true}
        ]
    }]})
    .to_string()
}

fn digest() -> String {
    ContentHash::of(b"receipt bytes").to_string()
}

/// Drives the run to its end: `handoff` answers the handoff window, `file` the upload window.
fn drive(handoff: HandoffChoice, file: FileChoice) -> (RunResult, Vec<Todo>, Instance) {
    let mut instance = instance();
    let token = token(&instance);
    let (mut session, mut todo) = instance.start_run(SCRIPT, &token, &now()).unwrap();
    let mut seen = Vec::new();
    let mut navigated = false;
    loop {
        seen.push(todo.clone());
        let input = match &todo {
            Todo::Done { result } => return ((**result).clone(), seen, instance),
            Todo::Snapshot { .. } if !navigated => Input::Blank,
            Todo::Snapshot { .. } => Input::Snapshot { snapshot: page() },
            Todo::Navigate { .. } => {
                navigated = true;
                Input::Acted {
                    result: ActResult::done(),
                }
            }
            Todo::HitTest { probes } => Input::Hits {
                hits: probes
                    .iter()
                    .map(|h| HitReport {
                        frame: h.frame,
                        node: h.node,
                        state: HitState::Hit,
                        by: None,
                    })
                    .collect(),
            },
            Todo::Handoff {
                message, origin, ..
            } => {
                assert_eq!(message, "Please sign in, then press Continue");
                assert_eq!(origin, "https://shop.example");
                Input::Handoff { choice: handoff }
            }
            Todo::Approve { .. } => Input::Approval {
                choice: ApprovalChoice::Once,
            },
            Todo::ChooseFile { prompt, .. } => {
                assert_eq!(
                    prompt,
                    "Choose a file for the element on https://shop.example"
                );
                Input::File {
                    choice: file.clone(),
                }
            }
            Todo::Act { .. } => Input::Acted {
                result: ActResult::done(),
            },
            other => panic!("unexpected todo {other:?}"),
        };
        todo = instance.step_run(&mut session, input, &now());
    }
}

fn chosen(size: u64, sha256: Option<String>) -> FileChoice {
    FileChoice::Chosen {
        file: ChosenFile {
            name: "receipt.pdf".into(),
            size,
            sha256,
        },
    }
}

fn log(instance: &mut Instance) -> String {
    testkit::verified_log(instance).0
}

#[test]
fn a_continued_handoff_resumes_and_the_upload_records_name_size_and_digest() {
    let (result, todos, mut instance) = drive(HandoffChoice::Continue, chosen(13, Some(digest())));
    assert_eq!(
        result.outcome,
        report::RunOutcome::Completed,
        "{:?}",
        result.error
    );
    // The file is asked for only once the element passed its re-check, and the act comes
    // after the file (with the element checked again in between).
    let order: Vec<&str> = todos
        .iter()
        .filter_map(|t| match t {
            Todo::Handoff { .. } => Some("handoff"),
            Todo::ChooseFile { .. } => Some("choose"),
            Todo::Act { .. } => Some("act"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["handoff", "choose", "act"]);
    assert_eq!(
        result.uploads,
        vec![people::UploadRecord {
            step: 3,
            name: "receipt.pdf".into(),
            size: 13,
            sha256: digest(),
        }]
    );
    let json = serde_json::to_string(&result).unwrap();
    assert!(json.contains("\"uploads\""));
    // The audit log's step-result of the upload carries the file's digest as its observation.
    let hex = digest().trim_start_matches("sha256:").to_owned();
    assert!(log(&mut instance).contains(&hex));
}

#[test]
fn an_aborted_handoff_ends_the_run_before_the_upload() {
    let (result, todos, mut instance) = drive(HandoffChoice::Abort, chosen(13, Some(digest())));
    assert_eq!(result.outcome, report::RunOutcome::Cancelled);
    assert!(!todos
        .iter()
        .any(|t| matches!(t, Todo::ChooseFile { .. } | Todo::Act { .. })));
    assert!(result.uploads.is_empty());
    log(&mut instance);
}

#[test]
fn a_file_above_the_limit_fails_the_step_without_acting() {
    let (result, todos, mut instance) =
        drive(HandoffChoice::Continue, chosen(MAX_UPLOAD_BYTES + 1, None));
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, "act-failed");
    assert!(error.message.contains("too large"), "{}", error.message);
    assert!(!todos.iter().any(|t| matches!(t, Todo::Act { .. })));
    assert!(result.uploads.is_empty());
    log(&mut instance);
}

#[test]
fn a_cancelled_file_choice_fails_the_step_without_acting() {
    let (result, todos, _) = drive(HandoffChoice::Continue, FileChoice::Cancelled {});
    assert_eq!(result.outcome, report::RunOutcome::Failed);
    assert!(result.error.unwrap().message.contains("cancelled"));
    assert!(!todos.iter().any(|t| matches!(t, Todo::Act { .. })));
}

#[test]
fn the_new_todos_and_inputs_speak_kebab_case_json() {
    let todo = serde_json::to_value(Todo::Handoff {
        step: 2,
        message: "m".into(),
        origin: "o".into(),
    })
    .unwrap();
    assert_eq!(
        todo,
        serde_json::json!({"todo": "handoff", "step": 2, "message": "m", "origin": "o"})
    );
    let todo = serde_json::to_value(Todo::ChooseFile {
        step: 3,
        prompt: "p".into(),
        origin: "o".into(),
    })
    .unwrap();
    assert_eq!(todo["todo"], "choose-file");
    let input: Input = serde_json::from_str(r#"{"input":"handoff","choice":"continue"}"#).unwrap();
    assert_eq!(
        input,
        Input::Handoff {
            choice: HandoffChoice::Continue
        }
    );
    let input: Input =
        serde_json::from_str(r#"{"input":"file","choice":{"outcome":"timeout"}}"#).unwrap();
    assert_eq!(
        input,
        Input::File {
            choice: FileChoice::Timeout {}
        }
    );
}
