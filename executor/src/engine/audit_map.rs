//! Maps the engine's [`AuditEvent`]s onto the signed audit log's entries
//! ([`crate::audit`]), and the decision function onto the [`Pep`] trait, so a host plugs the
//! real log and the real PEP into the engine.
//!
//! | engine event | log entry |
//! | --- | --- |
//! | `run-started` | `run-start` (script hash, `jti`) |
//! | `started` | `step` (written ahead of the act: target, decision, reasons, approval) |
//! | `completed` after a `started` | `step-result` of that step (ok or error, observation hash) |
//! | `completed` of a refused step (denied, or asked and not approved) | `step` alone: a refused step never has a result |
//! | `completed` of a step that failed before its gate (target not found …) | nothing: the `run-end` carries the error |
//! | `run-ended` | `run-end` (ok, or the error's code) |
//!
//! "Remembered" approvals are logged as `script`, the choice that covers them; every
//! approval is stamped with the time the event is written.

use super::driver::{AuditSink, Pep};
use super::effect::{Approval, AuditEvent, AuditKind, RunOutcome, StepAudit};
use crate::audit::{
    ApprovalChoice as LogChoice, AuditStore, AuditWriter, Completion, ContentHash, EntryDraft,
    StepRecord, Target, Timestamp,
};
use crate::decision::{Decision, Facts, Outcome};
use bridle_dsl::Step;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The time, for hosts (the engine itself never reads a clock).
pub trait Clock {
    fn now(&self) -> OffsetDateTime;
}

/// Where one run stands in the log: its run-start entry, its step written ahead and not yet
/// completed, and the last engine event written. Keep one per run and save it with the
/// machine's state: after a restart, events the log already has (a repeated `seq`) are
/// dropped instead of written twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCursor {
    pub run: Option<u64>,
    pub open_step: Option<u64>,
    pub last_event: u64,
}

/// An [`AuditSink`] over the signed, hash-chained log.
pub struct ChainSink<'a, S> {
    pub writer: &'a mut AuditWriter<S>,
    pub signer: &'a SigningKey,
    pub clock: &'a dyn Clock,
    pub cursor: &'a mut AuditCursor,
}

impl<S> std::fmt::Debug for ChainSink<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSink")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl<S: AuditStore> AuditSink for ChainSink<'_, S> {
    fn write(&mut self, event: &AuditEvent) -> Result<(), String> {
        if event.seq <= self.cursor.last_event {
            return Ok(());
        }
        let time = Timestamp::new(self.clock.now()).map_err(|e| e.to_string())?;
        let run = || {
            self.cursor
                .run
                .ok_or_else(|| "no run was started in the audit log".to_owned())
        };
        let draft = match &event.kind {
            AuditKind::RunStarted => {
                let script = ContentHash::parse(&event.script_hash).ok_or_else(|| {
                    format!(
                        "the script hash `{}` is not `sha256:` and 64 hex digits",
                        event.script_hash
                    )
                })?;
                Some(EntryDraft::run_start(time, script, event.jti.clone()))
            }
            AuditKind::Started(step) => Some(EntryDraft::step(
                time.clone(),
                step_record(run()?, step, time)?,
            )),
            AuditKind::Completed(step) => match self.cursor.open_step {
                Some(of) => Some(EntryDraft::step_result(time, of, completion(step)?)),
                None if refused(step) => Some(EntryDraft::step(
                    time.clone(),
                    step_record(run()?, step, time)?,
                )),
                None => None,
            },
            AuditKind::RunEnded { outcome, error } => Some(EntryDraft::run_end(
                time,
                run()?,
                Completion {
                    ok: *outcome == RunOutcome::Completed,
                    error: error.clone(),
                    observation: None,
                },
            )),
        };
        if let Some(draft) = draft {
            let entry = self
                .writer
                .record(draft, self.signer)
                .map_err(|e| e.to_string())?;
            match &event.kind {
                AuditKind::RunStarted => {
                    self.cursor.run = Some(entry.seq);
                    self.cursor.open_step = None;
                }
                AuditKind::Started(_) => self.cursor.open_step = Some(entry.seq),
                AuditKind::Completed(_) => self.cursor.open_step = None,
                AuditKind::RunEnded { .. } => {
                    self.cursor.run = None;
                    self.cursor.open_step = None;
                }
            }
        }
        self.cursor.last_event = event.seq;
        Ok(())
    }
}

/// A step the PEP denied or the user did not approve: it never acted.
fn refused(step: &StepAudit) -> bool {
    let denied = step
        .decision
        .as_ref()
        .is_some_and(|d| d.outcome == Outcome::Deny);
    let declined = matches!(
        step.approval,
        Some(Approval::Deny | Approval::Timeout | Approval::Closed)
    );
    denied || declined
}

fn step_record(run: u64, step: &StepAudit, time: Timestamp) -> Result<StepRecord, String> {
    let decision = step
        .decision
        .as_ref()
        .ok_or_else(|| format!("step {} has no decision to record", step.step))?;
    let choice = step.approval.map(|a| match a {
        Approval::Once => LogChoice::Once,
        Approval::Script | Approval::Remembered => LogChoice::Script,
        Approval::Deny => LogChoice::Deny,
        Approval::Timeout => LogChoice::Timeout,
        Approval::Closed => LogChoice::Closed,
    });
    Ok(StepRecord {
        run,
        step: step.step as u64,
        text: step.text.clone(),
        target: step.element.as_ref().map(|e| Target {
            role: e.role.clone(),
            name: e.name.clone(),
            fingerprint: e.fingerprint.clone(),
        }),
        decision: decision.outcome,
        reasons: decision.reason_texts(),
        approval: choice.map(|choice| crate::audit::Approval { choice, at: time }),
    })
}

fn completion(step: &StepAudit) -> Result<Completion, String> {
    let result = step
        .result
        .as_ref()
        .ok_or_else(|| format!("step {} completed without a result", step.step))?;
    let observation = match &step.observation_hash {
        Some(hex_hash) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_hash, &mut bytes)
                .map_err(|_| format!("`{hex_hash}` is not a SHA-256 in hex"))?;
            Some(ContentHash(bytes))
        }
        None => None,
    };
    Ok(Completion {
        ok: result.ok,
        error: result.error.clone(),
        observation,
    })
}

/// The real decision function as the engine's PEP.
impl Pep for crate::decide::Context<'_> {
    fn decide(&self, step: &Step, facts: &Facts) -> Decision {
        crate::decide::decide(self, step, facts)
    }
}
