//! People in the loop: `handoff` (the user acts by hand, then the script resumes) and the file
//! the user picks for `upload`. JavaScript shows the windows; what they show and what an
//! answer means is decided here.
//!
//! An upload's bytes never enter Rust: JavaScript keeps the picked file, tells the session its
//! name, size and SHA-256 ([`ChosenFile`]), and hands the bytes to the content script only
//! once the element is re-checked. The size limit is enforced here, the audit log's
//! `step-result` records the file's SHA-256 as the step's observation, and the run's result
//! lists each upload's name, size and digest ([`UploadRecord`]).

use super::{refused, Todo};
use bridle_executor::audit::ContentHash;
use bridle_executor::decision::ElementFacts;
use bridle_executor::engine::{Action, AuditEvent, AuditKind, Response};
use bridle_executor::page::{Handle, Snapshot};
use serde::{Deserialize, Serialize};

/// The largest file an `upload` hands to a page: its bytes cross the extension's JSON
/// messaging base64-encoded (a third larger), well under Chrome's 64 MiB message limit.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// The longest file name accepted (most file systems stop at 255 bytes).
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// What the user picked in the upload window, as JavaScript describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChosenFile {
    pub name: String,
    pub size: u64,
    /// `sha256:<hex>` of the bytes; `None` for a file refused before it was read (too large).
    pub sha256: Option<String>,
}

/// How the upload window ended. (Empty braces, so that serde refuses unknown fields there
/// too.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FileChoice {
    Chosen {
        file: ChosenFile,
    },
    /// The user pressed "Cancel".
    Cancelled {},
    /// The window was closed (or withdrawn) without an answer.
    Closed {},
    /// Nobody answered within the approval timeout.
    Timeout {},
}

/// One file handed to a page, as the run's result lists it: never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadRecord {
    pub step: usize,
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The session's part: the file picked for the step in progress, and the uploads done.
#[derive(Debug, Clone, Default)]
pub struct People {
    /// The step the file was picked for, and the file.
    picked: Option<(usize, ChosenFile)>,
    uploads: Vec<UploadRecord>,
}

impl People {
    /// The uploads done so far, for the run's result.
    pub fn uploads(&self) -> &[UploadRecord] {
        &self.uploads
    }
}

/// The text of the upload window's heading: the element as read from the page, never the
/// planner's words.
pub fn prompt(facts: &ElementFacts) -> String {
    let name = if facts.name.is_empty() {
        String::new()
    } else {
        format!(" “{}”", facts.name)
    };
    // A file input has no ARIA role of its own (HTML-AAM): it resolves as `generic`.
    let role = if facts.role.is_empty() || facts.role == "generic" {
        "the element"
    } else {
        &facts.role
    };
    format!("Choose a file for {role}{name} on {}", facts.frame_origin)
}

/// The handoff window for `step`, showing the origin of the page the run's tab shows: its
/// snapshot (`page`), `about:blank` before the first navigation (`blank`), else unknown.
pub fn handoff_todo(step: usize, message: &str, page: Option<&Snapshot>, blank: bool) -> Todo {
    let top = page.and_then(|snap| snap.frames().find(|f| f.parent.is_none()));
    let origin = match top {
        Some(frame) => frame.origin.clone(),
        None if blank => "about:blank".to_owned(),
        None => "unknown".to_owned(),
    };
    Todo::Handoff {
        step,
        message: message.to_owned(),
        origin,
    }
}

/// The todo after the element to act on passed its re-check: for an `upload` whose file is
/// not picked yet, the upload window; otherwise the primitive itself.
pub fn act_todo(
    people: &People,
    step: usize,
    handle: Handle,
    action: Action,
    facts: &ElementFacts,
) -> Todo {
    let picked = people.picked.as_ref().is_some_and(|(s, _)| *s == step);
    if action == Action::Upload && !picked {
        return Todo::ChooseFile {
            step,
            prompt: prompt(facts),
            origin: facts.frame_origin.clone(),
        };
    }
    Todo::Act { handle, action }
}

/// The upload window's answer for `step`: `Ok(())` when a file was picked that may be handed
/// to the page (the element is then snapshotted and re-checked again, since the user took a
/// while), else the failed act with why.
pub fn file_chosen(people: &mut People, step: usize, choice: FileChoice) -> Result<(), Response> {
    let file = match choice {
        FileChoice::Chosen { file } => file,
        FileChoice::Cancelled {} => {
            return Err(refused(
                "no file was uploaded: the user cancelled the file choice".to_owned(),
            ))
        }
        FileChoice::Closed {} => {
            return Err(refused(
                "no file was uploaded: the file window was closed without a choice".to_owned(),
            ))
        }
        FileChoice::Timeout {} => {
            return Err(refused(
                "no file was uploaded: nobody chose a file before the timeout".to_owned(),
            ))
        }
    };
    check_file(&file).map_err(refused)?;
    people.picked = Some((step, file));
    Ok(())
}

/// The limits on a picked file.
fn check_file(file: &ChosenFile) -> Result<(), String> {
    if file.size > MAX_UPLOAD_BYTES {
        return Err(format!(
            "the file is too large to upload: {} bytes, above the limit of {} bytes (10 MiB)",
            file.size, MAX_UPLOAD_BYTES
        ));
    }
    if file.name.is_empty() || file.name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(format!(
            "the file's name must be 1 to {MAX_FILE_NAME_CHARS} characters"
        ));
    }
    match file.sha256.as_deref().and_then(ContentHash::parse) {
        Some(_) => Ok(()),
        None => Err("the file's SHA-256 is missing or not `sha256:` and 64 hex digits".to_owned()),
    }
}

/// An audit event on its way to the log: an upload step's `completed` records the file's
/// SHA-256 as its observation, and the upload joins the result's list. Every step's
/// `completed` forgets the picked file, so a step run again (in a loop) asks again.
pub fn on_audit(people: &mut People, event: &AuditEvent) -> Option<AuditEvent> {
    let AuditKind::Completed(done) = &event.kind else {
        return None;
    };
    let (step, file) = people.picked.take()?;
    if step != done.step || !done.result.as_ref().is_some_and(|r| r.ok) {
        return None;
    }
    let hash = file.sha256.as_deref().and_then(ContentHash::parse)?;
    people.uploads.push(UploadRecord {
        step,
        name: file.name,
        size: file.size,
        sha256: hash.to_string(),
    });
    let mut event = event.clone();
    if let AuditKind::Completed(done) = &mut event.kind {
        done.observation_hash = Some(hash.0.iter().map(|b| format!("{b:02x}")).collect());
    }
    Some(event)
}

#[cfg(test)]
mod run;

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ElementFacts {
        ElementFacts {
            role: "button".into(),
            name: "Attach".into(),
            frame_origin: "https://shop.example".into(),
            fingerprint: "f".into(),
            field_kind: None,
        }
    }

    fn file(size: u64) -> ChosenFile {
        ChosenFile {
            name: "a.txt".into(),
            size,
            sha256: Some(ContentHash::of(b"x").to_string()),
        }
    }

    #[test]
    fn the_prompt_names_the_element_from_the_page() {
        assert_eq!(
            prompt(&facts()),
            "Choose a file for button “Attach” on https://shop.example"
        );
    }

    #[test]
    fn an_upload_asks_for_a_file_first_and_other_acts_do_not() {
        let mut people = People::default();
        let handle = Handle { frame: 0, node: 3 };
        assert!(matches!(
            act_todo(&people, 2, handle, Action::Upload, &facts()),
            Todo::ChooseFile { step: 2, .. }
        ));
        assert!(matches!(
            act_todo(&people, 2, handle, Action::Click, &facts()),
            Todo::Act { .. }
        ));
        file_chosen(&mut people, 2, FileChoice::Chosen { file: file(1) }).unwrap();
        assert!(matches!(
            act_todo(&people, 2, handle, Action::Upload, &facts()),
            Todo::Act { .. }
        ));
        // A file picked for another step does not count.
        assert!(matches!(
            act_todo(&people, 3, handle, Action::Upload, &facts()),
            Todo::ChooseFile { .. }
        ));
    }

    fn refusal(r: Result<(), Response>) -> String {
        match r {
            Err(Response::Acted { result }) => {
                assert!(!result.ok);
                result.error.unwrap()
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_file_above_the_limit_is_refused_and_one_at_it_accepted() {
        let mut people = People::default();
        let too_large = FileChoice::Chosen {
            file: ChosenFile {
                sha256: None,
                ..file(MAX_UPLOAD_BYTES + 1)
            },
        };
        assert!(refusal(file_chosen(&mut people, 1, too_large)).contains("too large"));
        assert!(people.picked.is_none());
        let at_limit = FileChoice::Chosen {
            file: file(MAX_UPLOAD_BYTES),
        };
        assert!(file_chosen(&mut people, 1, at_limit).is_ok());
    }

    #[test]
    fn a_cancelled_closed_or_timed_out_choice_fails_the_step_with_why() {
        for (choice, why) in [
            (FileChoice::Cancelled {}, "cancelled"),
            (FileChoice::Closed {}, "closed"),
            (FileChoice::Timeout {}, "timeout"),
        ] {
            let mut people = People::default();
            assert!(refusal(file_chosen(&mut people, 1, choice)).contains(why));
        }
    }

    #[test]
    fn a_file_without_a_valid_digest_or_name_is_refused() {
        let mut people = People::default();
        let bad = |f: ChosenFile| FileChoice::Chosen { file: f };
        let no_digest = ChosenFile {
            sha256: Some("sha256:zz".into()),
            ..file(1)
        };
        assert!(refusal(file_chosen(&mut people, 1, bad(no_digest))).contains("SHA-256"));
        let no_name = ChosenFile {
            name: String::new(),
            ..file(1)
        };
        assert!(refusal(file_chosen(&mut people, 1, bad(no_name))).contains("name"));
        let long_name = ChosenFile {
            name: "n".repeat(MAX_FILE_NAME_CHARS + 1),
            ..file(1)
        };
        assert!(refusal(file_chosen(&mut people, 1, bad(long_name))).contains("name"));
    }

    #[test]
    fn the_window_answers_parse_strictly() {
        let ok: FileChoice = serde_json::from_str(
            r#"{"outcome":"chosen","file":{"name":"a","size":1,"sha256":null}}"#,
        )
        .unwrap();
        assert!(matches!(ok, FileChoice::Chosen { .. }));
        assert!(serde_json::from_str::<FileChoice>(
            r#"{"outcome":"chosen","file":{"name":"a","size":1,"sha256":null,"bytes":"AA=="}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<FileChoice>(r#"{"outcome":"cancelled","x":1}"#).is_err());
    }
}
