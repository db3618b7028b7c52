//! The writer's side: an [`AuditChain`] remembers the end of the log (next seq, last hash,
//! open runs and steps) and turns [`EntryDraft`]s into sealed entries. Pure: no clock, no
//! storage; the caller passes the time in and stores the line.

use super::entry::AuditEntry;
use super::state::{ChainState, OpenRun, OpenStep, RuleError};
use super::types::{Approval, ChainHash, Completion, ContentHash, EntryKind, Target, Timestamp};
use super::verify::{verify_state, AuditError, KeyPin};
use super::{MAX_LINE_BYTES, MAX_SEQ};
use crate::decision::Outcome;
use crate::keys::{encode_public_key, instance_id};
use ed25519_dalek::{SigningKey, VerifyingKey};

/// What the engine knows about a step when it writes the step's entry: after the decision and
/// any approval dialog, before the step acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// The seq of the run-start entry of the run this step belongs to. The entry's `script`
    /// and `jti` are copied from that run.
    pub run: u64,
    /// The step's index in the run, from 1.
    pub step: u64,
    /// The step's canonical text.
    pub text: String,
    /// The element the step resolved to, when it has one.
    pub target: Option<Target>,
    pub decision: Outcome,
    /// The decision's reasons, in order (see `Decision::reason_texts`).
    pub reasons: Vec<String>,
    /// The user's answer; required exactly when `decision` is `ask`.
    pub approval: Option<Approval>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DraftEvent {
    RunStart {
        script: ContentHash,
        jti: Option<String>,
    },
    Step(StepRecord),
    StepResult {
        of: u64,
        result: Completion,
    },
    RunEnd {
        of: u64,
        result: Completion,
    },
    Note {
        text: String,
    },
}

/// An entry before the chain gives it its seq, link, instance, hash and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    time: Timestamp,
    event: DraftEvent,
}

impl EntryDraft {
    /// A run begins. `jti` is `None` when the run is refused before a token could be read.
    pub fn run_start(time: Timestamp, script: ContentHash, jti: Option<String>) -> Self {
        EntryDraft {
            time,
            event: DraftEvent::RunStart { script, jti },
        }
    }

    /// A step is about to act, or was refused. Write it before acting.
    pub fn step(time: Timestamp, record: StepRecord) -> Self {
        EntryDraft {
            time,
            event: DraftEvent::Step(record),
        }
    }

    /// The step written at seq `of` has acted.
    pub fn step_result(time: Timestamp, of: u64, result: Completion) -> Self {
        EntryDraft {
            time,
            event: DraftEvent::StepResult { of, result },
        }
    }

    /// The run started at seq `of` has ended.
    pub fn run_end(time: Timestamp, of: u64, result: Completion) -> Self {
        EntryDraft {
            time,
            event: DraftEvent::RunEnd { of, result },
        }
    }

    /// Free text from the executor.
    pub fn note(time: Timestamp, text: impl Into<String>) -> Self {
        EntryDraft {
            time,
            event: DraftEvent::Note { text: text.into() },
        }
    }
}

/// Why the chain refused to write an entry. Nothing was written and the chain is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The log has used every seq the format allows.
    #[error("the log has reached seq {MAX_SEQ}, the largest the format allows")]
    ChainFull,
    /// The key passed in is not the key this log is signed with.
    #[error("the signing key is not the key of instance `{instance}`, which this log belongs to")]
    WrongKey { instance: String },
    /// The format caps every number at [`MAX_SEQ`] so that JavaScript readers see it exactly.
    #[error("step index {step} is larger than {MAX_SEQ}, the largest the format allows")]
    StepIndexTooLarge { step: u64 },
    /// The entry would be longer than a verifier accepts.
    #[error("the entry is {len} bytes, more than the limit of {MAX_LINE_BYTES} bytes per line")]
    TooLong { len: usize },
    /// The entry breaks a rule between entries.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

/// The end of a log, ready for the next entry.
#[derive(Debug, Clone)]
pub struct AuditChain {
    state: ChainState,
}

/// A sealed entry the chain has not yet recorded as written. Store [`PendingEntry::line`]
/// first, then [`commit`](PendingEntry::commit); dropping it instead leaves the chain as it
/// was, so a failed store write does not leave the chain ahead of the log.
#[derive(Debug)]
pub struct PendingEntry<'a> {
    chain: &'a mut AuditChain,
    entry: AuditEntry,
    line: String,
}

impl PendingEntry<'_> {
    /// The line to store, without its newline.
    pub fn line(&self) -> &str {
        &self.line
    }

    pub fn entry(&self) -> &AuditEntry {
        &self.entry
    }

    /// Records the entry as written.
    pub fn commit(self) -> AuditEntry {
        self.chain.state.apply(&self.entry);
        self.entry
    }
}

impl AuditChain {
    /// Begins a new log: returns the chain and its first entry, the log-start that names the
    /// instance and carries its public key.
    pub fn start(time: Timestamp, signer: &SigningKey) -> (AuditChain, AuditEntry) {
        let key = signer.verifying_key();
        let mut entry = AuditEntry::blank(
            0,
            time,
            ChainHash::GENESIS,
            instance_id(&key),
            EntryKind::LogStart,
        );
        entry.key = Some(encode_public_key(&key));
        entry.seal(signer);
        let state = ChainState::after_log_start(&entry, key, false);
        (AuditChain { state }, entry)
    }

    /// Continues an existing log, for example after a restart: verifies it against the
    /// signer's public key and positions the chain after its last entry, with its open runs
    /// and steps still open.
    pub fn resume(log: &[u8], signer: &SigningKey) -> Result<AuditChain, AuditError> {
        let mut state = verify_state(log, &KeyPin::PublicKey(signer.verifying_key()))?;
        state.forget_history();
        Ok(AuditChain { state })
    }

    /// Seals the next entry without recording it; see [`PendingEntry`].
    pub fn prepare(
        &mut self,
        draft: EntryDraft,
        signer: &SigningKey,
    ) -> Result<PendingEntry<'_>, AppendError> {
        let seq = self.state.next_seq;
        if seq > MAX_SEQ {
            return Err(AppendError::ChainFull);
        }
        if signer.verifying_key() != self.state.key {
            return Err(AppendError::WrongKey {
                instance: self.state.instance.clone(),
            });
        }
        let EntryDraft { time, event } = draft;
        let kind = match &event {
            DraftEvent::RunStart { .. } => EntryKind::RunStart,
            DraftEvent::Step(_) => EntryKind::Step,
            DraftEvent::StepResult { .. } => EntryKind::StepResult,
            DraftEvent::RunEnd { .. } => EntryKind::RunEnd,
            DraftEvent::Note { .. } => EntryKind::Note,
        };
        let mut entry = AuditEntry::blank(
            seq,
            time,
            self.state.last_hash,
            self.state.instance.clone(),
            kind,
        );
        match event {
            DraftEvent::RunStart { script, jti } => {
                entry.script = Some(script);
                entry.jti = jti;
            }
            DraftEvent::Step(r) => {
                let run = self
                    .state
                    .open_runs
                    .get(&r.run)
                    .ok_or(RuleError::StepOutsideRun { run: r.run })?;
                entry.run = Some(r.run);
                entry.script = Some(run.script);
                entry.jti = run.jti.clone();
                entry.step = Some(r.step);
                entry.text = Some(r.text);
                entry.target = r.target;
                entry.decision = Some(r.decision);
                entry.reasons = Some(r.reasons);
                entry.approval = r.approval;
            }
            DraftEvent::StepResult { of, result } | DraftEvent::RunEnd { of, result } => {
                entry.of = Some(of);
                entry.result = Some(result);
            }
            DraftEvent::Note { text } => entry.text = Some(text),
        }
        if let Some(step) = entry.step.filter(|s| *s > MAX_SEQ) {
            return Err(AppendError::StepIndexTooLarge { step });
        }
        self.state.check(&entry)?;
        entry.seal(signer);
        let line = entry.to_line();
        if line.len() > MAX_LINE_BYTES {
            return Err(AppendError::TooLong { len: line.len() });
        }
        Ok(PendingEntry {
            chain: self,
            entry,
            line,
        })
    }

    /// Seals the next entry and records it as written: for callers that store the line
    /// themselves and cannot fail after this (use [`prepare`](AuditChain::prepare) otherwise).
    pub fn append(
        &mut self,
        draft: EntryDraft,
        signer: &SigningKey,
    ) -> Result<AuditEntry, AppendError> {
        Ok(self.prepare(draft, signer)?.commit())
    }

    /// The seq the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.state.next_seq
    }

    /// The hash of the last entry: keep a copy outside the log to detect truncation later.
    pub fn last_hash(&self) -> ChainHash {
        self.state.last_hash
    }

    pub fn instance(&self) -> &str {
        &self.state.instance
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.state.key
    }

    /// Runs started and not ended, oldest first.
    pub fn open_runs(&self) -> impl Iterator<Item = &OpenRun> {
        self.state.open_runs.values()
    }

    /// Steps written ahead of acting that have no result yet, oldest first.
    pub fn open_steps(&self) -> impl Iterator<Item = &OpenStep> {
        self.state.open_steps.values()
    }

    #[cfg(test)]
    pub(crate) fn state_mut(&mut self) -> &mut ChainState {
        &mut self.state
    }
}
