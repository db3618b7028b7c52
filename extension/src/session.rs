//! A run in progress: the engine's [`Machine`] driven from the service worker. Decisions and
//! audit writes are answered here, in Rust; the page work (snapshots, the content script's
//! primitive, navigation, the approval window, waiting) is handed to JavaScript as a
//! [`Todo`], and JavaScript's answer comes back as an [`Input`]. Targets are resolved and
//! re-checked here on the snapshots JavaScript takes; JavaScript never decides.
//!
//! The machine's state lives in memory only: a run cut off by a service-worker restart is
//! closed in the audit log as interrupted on the next start (`instance/interrupted.rs`), not
//! resumed.

use crate::instance::{Instance, Now};
use crate::report::{self, Preview, RunResult};
use bridle_dsl::{Checked, Verb};
use bridle_executor::audit::ContentHash;
use bridle_executor::decide::{decide, Context};
use bridle_executor::engine::{
    read_step, ActResult, Action, ApprovalChoice, ApprovalRequest, AuditCursor, AuditSink,
    ChainSink, Clock, Effect, ElementState, FillValue, HandoffChoice, Machine, Query, Response,
    RunInputs, Value, WaitFor,
};
use bridle_executor::page::{
    self, Handle, HitReport, Purpose, ResolveError, Snapshot, SnapshotError,
};
use bridle_executor::time::OffsetDateTime;
use bridle_executor::token::VerifiedToken;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What JavaScript must do next for the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "todo", rename_all = "kebab-case")]
pub enum Todo {
    /// Take a fresh snapshot of the run's tab and answer [`Input::Snapshot`] (or
    /// [`Input::Blank`] when the tab shows no page the content script runs in).
    Snapshot { effect: Box<Effect> },
    /// Hit-test these elements where they are now, each in its frame's content script
    /// (`page::hits`) → [`Input::Hits`].
    HitTest { probes: Vec<Handle> },
    /// Send this primitive to the content script of the run's tab → [`Input::Acted`].
    Act { handle: Handle, action: Action },
    /// Navigate the run's tab (`navigate`, `back`, `forward`, `reload`) and wait for the load
    /// → [`Input::Acted`].
    Navigate { action: Action },
    /// Open the approval window → [`Input::Approval`].
    Approve {
        /// The step asked about (1-based, as in step records).
        step: usize,
        request: Box<ApprovalRequest>,
    },
    /// Wait (`pause` or `idle`), at most `timeout_ms` → [`Input::Waited`].
    Wait { what: Box<WaitFor>, timeout_ms: u64 },
    /// A wait's condition did not hold on the last snapshot: wait for the page to change,
    /// snapshot again, or answer [`Input::Waited`] `false` once `timeout_ms` (counted from the
    /// first `wait-snapshot`) is over.
    WaitSnapshot { timeout_ms: u64 },
    /// Send this job to the native host (`jobs::HOST_NAME`) with an `id` added, and answer
    /// its final reply (`result`, `refused`, `error`; or `{kind: "unavailable", message}`
    /// when no host answers) → [`Input::HostReply`].
    Job {
        step: usize,
        request: Box<jobs::HostJob>,
    },
    /// Show the handoff window: the planner's `message`, the `origin` of the run's tab as
    /// its last snapshot says, "Continue" and "Abort" → [`Input::Handoff`] (closed or timed
    /// out: `abort`).
    Handoff {
        step: usize,
        message: String,
        origin: String,
    },
    /// Show the upload window for `step` with `prompt` (read from the page), let the user pick
    /// a file and keep its bytes for the [`Todo::Act`] that follows → [`Input::File`].
    ChooseFile {
        step: usize,
        prompt: String,
        origin: String,
    },
    /// Open, list, switch or close the run's tabs (`open tab`, `switch tab`, `close tab`;
    /// [`tabs::TabAction`] says which) → [`Input::Acted`], or [`Input::Tabs`] for a list.
    Tab { action: tabs::TabAction },
    /// The run is over.
    Done { result: Box<RunResult> },
}

/// JavaScript's answer to a [`Todo`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "input", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Input {
    /// `{"frames": [...]}` as `snapshotTab` returns it.
    Snapshot {
        snapshot: String,
    },
    /// The answers to a [`Todo::HitTest`], one per probe.
    Hits {
        hits: Vec<HitReport>,
    },
    /// The tab shows `about:blank` (before the first `navigate`).
    Blank,
    /// No content script answers in the tab (an error page, a page that is not http(s)).
    Unreadable,
    /// The run's open tabs for a [`Todo::Tab`] list: the current one first, then the others
    /// from the most recently current.
    Tabs {
        tabs: Vec<tabs::RunTab>,
    },
    Acted {
        result: ActResult,
    },
    Approval {
        choice: ApprovalChoice,
    },
    Waited {
        ok: bool,
    },
    /// The native host's final reply to a [`Todo::Job`].
    HostReply {
        reply: serde_json::Value,
    },
    /// The user's answer to a [`Todo::Handoff`].
    Handoff {
        choice: HandoffChoice,
    },
    /// How the upload window of a [`Todo::ChooseFile`] ended.
    File {
        choice: people::FileChoice,
    },
}

/// One run in progress.
#[derive(Debug)]
pub struct Session {
    checked: Checked,
    token: VerifiedToken,
    machine: Machine,
    cursor: AuditCursor,
    preview: Preview,
    /// The element each step's target resolved to, for the re-check before acting.
    handles: BTreeMap<usize, Handle>,
    pending: Effect,
    /// The vault values this run filled: removed from everything it writes or returns.
    secrets: Vec<String>,
    /// The run's token and script as received: a job step sends them to the native host,
    /// which verifies the job's grant itself.
    token_text: String,
    script_text: String,
    /// The file picked for an `upload` and the uploads done (`session/people.rs`).
    people: people::People,
    /// The snapshot an acting step was checked on, waiting for its hit tests.
    probe: Option<Probe>,
    /// The last snapshot read, as the content scripts sent it: the next one may come as
    /// changes to its frames (`page::delta`).
    page: Option<Snapshot>,
}

/// A frame of the last snapshot read, which the next snapshot may update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameBase {
    pub frame: u64,
    pub doc: String,
    pub version: u64,
}

/// A snapshot taken without hit tests and the elements whose hit tests it waits for.
#[derive(Debug)]
struct Probe {
    snapshot: Snapshot,
    asked: Vec<Handle>,
}

impl Session {
    /// Reads a snapshot of the run's tab: whole frames, and changes to the frames of the last
    /// one read. After a refusal the next snapshot is asked for whole.
    fn read_page(&mut self, json: &str) -> Result<Snapshot, SnapshotError> {
        let read = Snapshot::from_json_after(json, self.page.as_ref());
        self.page = read.as_ref().ok().cloned();
        read
    }

    /// What the next snapshot may be sent as changes to.
    pub fn snapshot_bases(&self) -> Vec<FrameBase> {
        self.page
            .iter()
            .flat_map(|p| p.frames())
            .filter_map(|f| {
                Some(FrameBase {
                    frame: f.id,
                    doc: f.doc.clone()?,
                    version: f.version?,
                })
            })
            .collect()
    }

    /// Keeps `snapshot` and asks for the hit tests of `handle` and the frames around it.
    fn probe_hits(&mut self, snapshot: Snapshot, handle: Handle) -> Todo {
        let asked = snapshot.hit_chain(handle);
        self.probe = Some(Probe {
            snapshot,
            asked: asked.clone(),
        });
        Todo::HitTest { probes: asked }
    }
}

impl Session {
    /// The run's plan preview: every step with its decision before the run.
    pub fn plan(&self) -> &[bridle_executor::preview::PlannedStep] {
        self.preview.plan()
    }
}

/// Why a page cannot be read or acted on when no content script answers.
const UNREADABLE: &str =
    "the tab shows no page the extension can read (not an http(s) page, or the page failed to load)";

struct Fixed(OffsetDateTime);

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

impl Instance {
    /// Checks the script, verifies the token (using it up) and starts the run. `Err` is a
    /// refused run's result (written to the audit log as before).
    pub fn start_run(
        &mut self,
        script: &str,
        token: &str,
        now: &Now,
    ) -> Result<(Session, Todo), Box<RunResult>> {
        let policy = self.policy().clone();
        let instance_id = self.instance_id().to_owned();
        let mut preview = report::preview(
            script.as_bytes(),
            token,
            &policy,
            &instance_id,
            now.datetime(),
            self.replay_mut(),
        );
        self.replay_mut().purge_expired(now.datetime());
        let Some(accepted) = preview.accepted.take() else {
            return Err(Box::new(self.run_refused(script, preview, now)));
        };
        let (checked, verified) = *accepted;
        let inputs = RunInputs {
            script_hash: ContentHash::of(script.as_bytes()).to_string(),
            jti: Some(verified.jti().to_owned()),
            ..RunInputs::default()
        };
        let machine = match Machine::new(&checked, inputs) {
            Ok(m) => m,
            Err(e) => {
                let result = preview.executed(bridle_executor::engine::RunResult {
                    outcome: bridle_executor::engine::RunOutcome::Failed,
                    value: Value::Null,
                    error: Some(e.into()),
                    steps: Vec::new(),
                    warnings: Vec::new(),
                    steps_done: 0,
                });
                return Err(Box::new(result));
            }
        };
        let mut session = Session {
            checked,
            token: verified,
            machine,
            cursor: AuditCursor::default(),
            preview,
            handles: BTreeMap::new(),
            pending: Effect::Note {
                step: 0,
                text: String::new(),
            },
            secrets: Vec::new(),
            token_text: token.to_owned(),
            script_text: script.to_owned(),
            people: people::People::default(),
            probe: None,
            page: None,
        };
        session.pending = session.machine.step(None);
        let todo = self.advance(&mut session, None, now);
        Ok((session, todo))
    }

    /// Feeds JavaScript's answer to the pending [`Todo`] and runs on to the next one.
    pub fn step_run(&mut self, session: &mut Session, input: Input, now: &Now) -> Todo {
        self.advance(session, Some(input), now)
    }

    fn advance(&mut self, s: &mut Session, mut input: Option<Input>, now: &Now) -> Todo {
        loop {
            let response = match self.answer(s, input.take(), now) {
                Ok(response) => response,
                Err(todo) => return todo,
            };
            s.pending = s.machine.step(Some(response));
        }
    }

    /// The response to the pending effect, or what JavaScript must do first.
    fn answer(
        &mut self,
        s: &mut Session,
        input: Option<Input>,
        now: &Now,
    ) -> Result<Response, Todo> {
        let effect = s.pending.clone();
        let snapshot_todo = || Todo::Snapshot {
            effect: Box::new(effect.clone()),
        };
        match (&effect, input) {
            (Effect::Done(result), _) => Err(Todo::Done {
                result: Box::new(report::RunResult {
                    uploads: s.people.uploads().to_vec(),
                    ..s.preview.executed(
                        redact::redact(&**result, &s.secrets)
                            .unwrap_or_else(|| redact::withheld(result)),
                    )
                }),
            }),
            (Effect::Decide { step, facts, read }, _) => {
                let ctx = Context::new(&s.checked, &s.token, self.policy());
                let decision = match s.machine.steps().get(step.wrapping_sub(1)) {
                    Some(info) if *read => decide(&ctx, &read_step(info), facts),
                    Some(info) => decide(&ctx, info, facts),
                    None => return Ok(bad_step(*step)),
                };
                Ok(Response::Decision { decision })
            }
            (Effect::AuditWrite { event }, _) => {
                let clock = Fixed(now.datetime());
                let key = self.key().clone();
                let mut sink = ChainSink {
                    writer: &mut self.audit,
                    signer: &key,
                    clock: &clock,
                    cursor: &mut s.cursor,
                };
                // An entry that cannot be cleared of a secret is not written, and the run
                // stops (a failed audit write means no action).
                let uploaded = people::on_audit(&mut s.people, event);
                let event = uploaded.as_ref().unwrap_or(event);
                let Some(event) = redact::redact(event, &s.secrets) else {
                    return Ok(Response::AuditFailed {
                        message: redact::UNCLEARABLE.to_owned(),
                    });
                };
                Ok(match sink.write(&event) {
                    Ok(()) => Response::AuditWritten,
                    Err(message) => Response::AuditFailed { message },
                })
            }
            // The amount the page shows (`page::page_amount`); none on a page that cannot be
            // read, which the policy treats as unknown (it asks).
            (Effect::ReadAmount { .. }, None) => Err(snapshot_todo()),
            (Effect::ReadAmount { .. }, Some(Input::Snapshot { snapshot })) => {
                Ok(Response::Amount {
                    amount: s
                        .read_page(&snapshot)
                        .ok()
                        .and_then(|snap| page::page_amount(&snap)),
                })
            }
            (Effect::ReadAmount { .. }, Some(Input::Blank | Input::Unreadable)) => {
                Ok(Response::Amount { amount: None })
            }
            (Effect::Note { .. }, _) => Ok(Response::Noted),
            // The page is read first, for the origin the window shows.
            (Effect::Handoff { .. }, None) => Err(snapshot_todo()),
            (Effect::Handoff { step, message }, Some(Input::Snapshot { snapshot })) => {
                let page = s.read_page(&snapshot).ok();
                Err(people::handoff_todo(*step, message, page.as_ref(), false))
            }
            (Effect::Handoff { step, message }, Some(Input::Blank)) => {
                Err(people::handoff_todo(*step, message, None, true))
            }
            (Effect::Handoff { step, message }, Some(Input::Unreadable)) => {
                Err(people::handoff_todo(*step, message, None, false))
            }
            (Effect::Handoff { .. }, Some(Input::Handoff { choice })) => {
                Ok(Response::Handoff { choice })
            }
            // The user picked a file (or did not): the element is read and re-checked again
            // before the file is handed to it.
            (Effect::Act { step, .. }, Some(Input::File { choice })) => {
                match people::file_chosen(&mut s.people, *step, choice) {
                    Ok(()) => Err(snapshot_todo()),
                    Err(failed) => Ok(failed),
                }
            }
            (Effect::Job { step, job }, None) => Err(Todo::Job {
                step: *step,
                request: Box::new(jobs::host_job(job, &s.token_text, &s.script_text)),
            }),
            (Effect::Job { .. }, Some(Input::HostReply { reply })) => Ok(Response::JobDone {
                result: jobs::job_result(&reply),
            }),
            (Effect::Approve { step, request }, None) => Err(Todo::Approve {
                step: *step,
                request: request.clone(),
            }),
            (Effect::Approve { .. }, Some(Input::Approval { choice })) => {
                Ok(Response::Approval { choice })
            }
            (Effect::Resolve { .. } | Effect::Observe { .. }, None) => Err(snapshot_todo()),
            (
                Effect::Observe {
                    query: Query::Url, ..
                },
                Some(Input::Blank),
            ) => Ok(Response::Value {
                value: Value::Text("about:blank".to_owned()),
            }),
            (Effect::Resolve { .. }, Some(Input::Blank)) => Ok(Response::NotFound {
                candidates: vec!["the tab shows no page yet".to_owned()],
            }),
            (Effect::Resolve { step, target }, Some(Input::Snapshot { snapshot })) => {
                let snap = match s.read_page(&snapshot) {
                    Ok(snap) => snap,
                    Err(e) => {
                        return Ok(Response::NotFound {
                            candidates: vec![format!("{}: {e}", e.code())],
                        })
                    }
                };
                let purpose = match s.machine.steps().get(step.wrapping_sub(1)) {
                    Some(info) if acts_on_element(info.verb) => Purpose::Act,
                    _ => Purpose::Observe,
                };
                match page::resolve(&snap, target, purpose) {
                    // The one element found without hit tests: now its own (and its frames').
                    Ok(found) if purpose == Purpose::Act => Err(s.probe_hits(snap, found.handle)),
                    Ok(found) => {
                        s.handles.insert(*step, found.handle);
                        Ok(Response::Resolved {
                            element: found.facts,
                        })
                    }
                    Err(e) => Ok(resolve_failure(&e)),
                }
            }
            (Effect::Resolve { step, target }, Some(Input::Hits { hits })) => {
                let Some(mut probe) = s.probe.take() else {
                    return Err(Todo::Done {
                        result: Box::new(self.end_bad(s, now)),
                    });
                };
                if let Err(e) = probe.snapshot.apply_hits(&probe.asked, &hits) {
                    return Ok(Response::NotFound {
                        candidates: vec![format!("gone: {e}")],
                    });
                }
                Ok(match page::resolve(&probe.snapshot, target, Purpose::Act) {
                    Ok(found) => {
                        s.handles.insert(*step, found.handle);
                        Response::Resolved {
                            element: found.facts,
                        }
                    }
                    Err(e) => resolve_failure(&e),
                })
            }
            (Effect::Observe { .. }, Some(Input::Blank | Input::Unreadable)) => {
                Ok(Response::Failed {
                    message: UNREADABLE.to_owned(),
                })
            }
            (Effect::Act { .. }, Some(Input::Blank | Input::Unreadable)) => {
                Ok(refused(UNREADABLE.to_owned()))
            }
            (Effect::Resolve { .. }, Some(Input::Unreadable)) => Ok(Response::NotFound {
                candidates: vec![UNREADABLE.to_owned()],
            }),
            (Effect::Observe { query, .. }, Some(Input::Snapshot { snapshot })) => {
                Ok(match s.read_page(&snapshot) {
                    Ok(snap) => match observe(&snap, query) {
                        Ok(value) => match redact::redact(&value, &s.secrets) {
                            Some(value) => Response::Value { value },
                            None => Response::Failed {
                                message: redact::UNCLEARABLE.to_owned(),
                            },
                        },
                        Err(message) => Response::Failed { message },
                    },
                    Err(e) => Response::Failed {
                        message: e.to_string(),
                    },
                })
            }
            (
                Effect::Act {
                    target: None,
                    action,
                    ..
                },
                None,
            ) => match action {
                Action::Navigate { .. } | Action::Back | Action::Forward | Action::Reload => {
                    Err(Todo::Navigate {
                        action: action.clone(),
                    })
                }
                Action::OpenTab { .. } | Action::SwitchTab { .. } | Action::CloseTab => {
                    tabs::start(&s.checked.origins, self.policy(), action)
                }
                _ => Ok(refused(format!(
                    "`{}` is not supported by the extension yet",
                    action_name(action)
                ))),
            },
            (
                Effect::Act {
                    target: None,
                    action: action @ (Action::SwitchTab { .. } | Action::CloseTab),
                    ..
                },
                Some(Input::Tabs { tabs: list }),
            ) => tabs::chosen(action, &list),
            (
                Effect::Act {
                    target: Some(_), ..
                },
                None,
            ) => Err(snapshot_todo()),
            (
                Effect::Act {
                    step,
                    target: Some(_),
                    expect_fingerprint,
                    ..
                },
                Some(Input::Snapshot { snapshot }),
            ) => {
                let (Some(handle), Some(expected)) =
                    (s.handles.get(step).copied(), expect_fingerprint)
                else {
                    return Ok(refused(
                        "the element to act on was not resolved in this step".to_owned(),
                    ));
                };
                let snap = match s.read_page(&snapshot) {
                    Ok(snap) => snap,
                    Err(e) => return Ok(refused(e.to_string())),
                };
                // Checked without hit tests first; then the element's own (and its frames').
                match page::recheck(&snap, handle, expected, Purpose::Act) {
                    Ok(_) => Err(s.probe_hits(snap, handle)),
                    Err(e) => Ok(refused(format!("{}: {e}", e.code()))),
                }
            }
            (
                Effect::Act {
                    step,
                    action,
                    target: Some(_),
                    expect_fingerprint,
                },
                Some(Input::Hits { hits }),
            ) => {
                let (Some(handle), Some(expected), Some(mut probe)) = (
                    s.handles.get(step).copied(),
                    expect_fingerprint,
                    s.probe.take(),
                ) else {
                    return Err(Todo::Done {
                        result: Box::new(self.end_bad(s, now)),
                    });
                };
                if let Err(e) = probe.snapshot.apply_hits(&probe.asked, &hits) {
                    return Ok(refused(e.to_string()));
                }
                match page::recheck(&probe.snapshot, handle, expected, Purpose::Act) {
                    Ok(found) => self.act_todo(s, *step, handle, action, &found.facts),
                    Err(e) => Ok(refused(format!("{}: {e}", e.code()))),
                }
            }
            (Effect::Act { .. }, Some(Input::Acted { result })) => Ok(Response::Acted { result }),
            (
                Effect::Wait {
                    what, timeout_ms, ..
                },
                None,
            ) => match what {
                WaitFor::Element { .. } | WaitFor::Url { .. } => Err(snapshot_todo()),
                WaitFor::Idle | WaitFor::Pause => Err(Todo::Wait {
                    what: Box::new(what.clone()),
                    timeout_ms: *timeout_ms,
                }),
            },
            (
                Effect::Wait {
                    what, timeout_ms, ..
                },
                Some(Input::Snapshot { snapshot }),
            ) => {
                let met = s
                    .read_page(&snapshot)
                    .map(|snap| wait_met(&snap, what))
                    .unwrap_or(false);
                if met {
                    Ok(Response::Waited { ok: true })
                } else {
                    Err(Todo::WaitSnapshot {
                        timeout_ms: *timeout_ms,
                    })
                }
            }
            (Effect::Wait { .. }, Some(Input::Blank | Input::Unreadable)) => {
                Err(Todo::WaitSnapshot {
                    timeout_ms: match &effect {
                        Effect::Wait { timeout_ms, .. } => *timeout_ms,
                        _ => 0,
                    },
                })
            }
            (Effect::Wait { .. }, Some(Input::Waited { ok })) => Ok(Response::Waited { ok }),
            // An answer that does not fit the pending effect: the engine ends the run with
            // `bad-response` when given nothing.
            (_, Some(_)) => Err(Todo::Done {
                result: Box::new(self.end_bad(s, now)),
            }),
        }
    }

    /// The primitive for a step whose element passed its last check. A secret is looked up
    /// at this moment only; its entry name alone is in the engine, the audit log and the
    /// result.
    fn act_todo(
        &self,
        s: &mut Session,
        step: usize,
        handle: Handle,
        action: &Action,
        facts: &bridle_executor::decision::ElementFacts,
    ) -> Result<Response, Todo> {
        let action = match action {
            Action::Fill {
                value: FillValue::Secret { entry, .. },
            } => match self.vault.get(entry) {
                Some(secret) => {
                    if !s.secrets.iter().any(|known| known == secret) {
                        s.secrets.push(secret.to_owned());
                    }
                    Action::Fill {
                        value: FillValue::Text {
                            text: secret.to_owned(),
                        },
                    }
                }
                None => {
                    return Ok(refused(format!(
                        "the vault has no entry `{entry}`: add it on the options page"
                    )))
                }
            },
            other => other.clone(),
        };
        Err(people::act_todo(&s.people, step, handle, action, facts))
    }

    /// The machine is fed no response, which it refuses as a bad response and ends the run.
    fn end_bad(&mut self, s: &mut Session, now: &Now) -> RunResult {
        let mut effect = s.machine.step(None);
        // The machine writes its run-end audit event, then is done.
        for _ in 0..8 {
            match &effect {
                Effect::Done(result) => return s.preview.executed((**result).clone()),
                Effect::AuditWrite { event } => {
                    let clock = Fixed(now.datetime());
                    let key = self.key().clone();
                    let mut sink = ChainSink {
                        writer: &mut self.audit,
                        signer: &key,
                        clock: &clock,
                        cursor: &mut s.cursor,
                    };
                    let response = match sink.write(event) {
                        Ok(()) => Response::AuditWritten,
                        Err(message) => Response::AuditFailed { message },
                    };
                    effect = s.machine.step(Some(response));
                }
                _ => effect = s.machine.cancel(),
            }
        }
        s.preview.executed(bridle_executor::engine::RunResult {
            outcome: bridle_executor::engine::RunOutcome::Failed,
            value: Value::Null,
            error: None,
            steps: Vec::new(),
            warnings: vec!["the run did not end cleanly".to_owned()],
            steps_done: 0,
        })
    }

    /// A run refused before it started: recorded in the audit log as before.
    fn run_refused(&mut self, script: &str, preview: Preview, now: &Now) -> RunResult {
        self.record_preview(script, preview, now)
    }
}

fn bad_step(step: usize) -> Response {
    use bridle_executor::decision::{Decision, Outcome, Reason, Source};
    Response::Decision {
        decision: Decision {
            outcome: Outcome::Deny,
            risk: bridle_dsl::Risk::High,
            reasons: vec![Reason::new(
                Source::Script,
                Outcome::Deny,
                format!("step {step} is not in the script"),
            )],
        },
    }
}

fn refused(error: String) -> Response {
    Response::Acted {
        result: ActResult {
            ok: false,
            error: Some(error),
            effect_observed: false,
        },
    }
}

fn action_name(action: &Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Steps whose target is acted on (and so must be visible, enabled and uncovered).
fn acts_on_element(verb: Verb) -> bool {
    matches!(
        verb,
        Verb::Click
            | Verb::Fill
            | Verb::Clear
            | Verb::Select
            | Verb::Check
            | Verb::Uncheck
            | Verb::Hover
            | Verb::Press
            | Verb::ScrollTo
            | Verb::Submit
            | Verb::Upload
    )
}

/// The resolver's error as the engine's resolution answer: `ambiguous` as such; every other
/// failure (none, hidden, covered, disabled …) as `not-found`, whose first candidate line
/// carries the resolver's code and message.
fn resolve_failure(e: &ResolveError) -> Response {
    match e {
        ResolveError::Ambiguous { .. } => Response::Ambiguous {
            candidates: e.candidate_lines(),
        },
        _ => {
            let mut candidates = vec![format!("{}: {e}", e.code())];
            candidates.extend(e.candidate_lines());
            Response::NotFound { candidates }
        }
    }
}

/// The top frame's URL.
fn page_url(snap: &Snapshot) -> Option<String> {
    snap.frames()
        .find(|f| f.parent.is_none())
        .map(|f| f.url.clone())
}

/// The visible text inside a node, whitespace collapsed.
fn text_of(snap: &Snapshot, handle: Handle) -> String {
    fn walk(snap: &Snapshot, frame: u64, id: u32, out: &mut String, depth: usize) {
        let Some(node) = snap.node(Handle { frame, node: id }) else {
            return;
        };
        if node.hidden || depth > 256 {
            return;
        }
        for kid in node.kids.items() {
            match kid {
                page::Child::Text(t) => {
                    out.push_str(t);
                    out.push(' ');
                }
                page::Child::Node(k) => walk(snap, frame, *k, out, depth + 1),
            }
        }
    }
    let mut out = String::new();
    walk(snap, handle.frame, handle.node, &mut out, 0);
    page::normalize(&out)
}

fn observe(snap: &Snapshot, query: &Query) -> Result<Value, String> {
    let element = |target, fingerprint: &str| -> Result<Handle, String> {
        let found = page::resolve(snap, target, Purpose::Observe).map_err(|e| e.to_string())?;
        if page::recheck(snap, found.handle, fingerprint, Purpose::Observe).is_err() {
            return Err("the element changed since it was decided".to_owned());
        }
        Ok(found.handle)
    };
    match query {
        Query::Url => page_url(snap)
            .map(Value::Text)
            .ok_or_else(|| "the page has no top frame".to_owned()),
        Query::Text {
            target,
            fingerprint,
        } => Ok(Value::Text(text_of(snap, element(target, fingerprint)?))),
        Query::Value {
            target,
            fingerprint,
        } => {
            let handle = element(target, fingerprint)?;
            let node = snap.node(handle).ok_or("the element went away")?;
            node.value
                .clone()
                .map(Value::Text)
                .ok_or_else(|| "the field's value is not readable".to_owned())
        }
        Query::Attribute {
            name,
            target,
            fingerprint,
        } => {
            let handle = element(target, fingerprint)?;
            let node = snap.node(handle).ok_or("the element went away")?;
            Ok(node
                .attrs
                .get(name)
                .map_or(Value::Null, |v| Value::Text(v.clone())))
        }
        Query::Count { target } => page::find_all(snap, target)
            .map(|m| Value::Number(m.elements.len() as f64))
            .map_err(|e| e.to_string()),
        Query::Exists { target } => Ok(Value::Bool(
            page::find_all(snap, target).is_ok_and(|m| !m.elements.is_empty()),
        )),
        Query::Visible { target } => Ok(Value::Bool(
            page::resolve(snap, target, Purpose::Observe).is_ok_and(|r| r.visible),
        )),
        Query::Title => crate::page::title_value(snap),
        Query::Table {
            target,
            fingerprint,
        } => crate::page::table_value(snap, element(target, fingerprint)?),
    }
}

fn wait_met(snap: &Snapshot, what: &WaitFor) -> bool {
    match what {
        WaitFor::Element { target, state } => {
            let found = page::resolve(snap, target, Purpose::Observe);
            match state {
                ElementState::Visible => found.is_ok_and(|r| r.visible),
                ElementState::Enabled => found.is_ok_and(|r| r.enabled),
                ElementState::Hidden => found.map_or(true, |r| !r.visible),
                ElementState::Gone => matches!(found, Err(ResolveError::NotFound { .. })),
            }
        }
        WaitFor::Url { glob } => page_url(snap)
            .is_some_and(|url| bridle_executor::engine::interp::glob_match(glob, &url)),
        WaitFor::Idle | WaitFor::Pause => true,
    }
}

pub mod jobs;
/// The navigation guard (`Instance::guard_navigation`): a child module, so it can stop the
/// run's machine.
pub mod navguard;
pub mod people;
mod progress;
mod redact;
pub mod tabs;

#[cfg(test)]
mod tests;
