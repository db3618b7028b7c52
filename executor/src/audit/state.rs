//! The rules between entries (which run a step belongs to, which step a result completes), kept
//! as one state machine that both the writer and the verifier run: the writer refuses an entry
//! the verifier would reject, so whatever the chain appends verifies.

use super::entry::{AuditEntry, ShapeError};
use super::types::{ChainHash, ContentHash, EntryKind};
use crate::decision::Outcome;
use ed25519_dalek::VerifyingKey;
use std::collections::BTreeMap;

/// A rule between entries that an entry breaks. Each is checked after the entry's hash and
/// signature, so these point at a faulty (or dishonest) writer holding the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The log does not begin with its log-start entry.
    #[error("the log must begin with a `log-start` entry, not `{kind}`")]
    FirstNotLogStart { kind: EntryKind },
    /// A second log-start.
    #[error("a `log-start` entry may only begin the log")]
    LogStartAgain,
    /// The entry's fields do not fit its kind.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// `of` names an entry that is not an earlier entry of the kind it completes.
    #[error("`of` names seq {of}, which is not an earlier `{expected}` entry")]
    DanglingResult { of: u64, expected: EntryKind },
    /// `of` names an entry that was already completed.
    #[error("seq {of} already has its `{kind}`")]
    DuplicateResult { of: u64, kind: EntryKind },
    /// A step that was refused never acts, so a result for it claims an action that did not
    /// happen.
    #[error("seq {of} is a step that was refused, so it never acted and cannot have a result")]
    ResultForRefusedStep { of: u64 },
    /// A step names a run that is not open (never started, not a run-start, or already ended).
    #[error("`run` names seq {run}, which is not an open run")]
    StepOutsideRun { run: u64 },
    /// A step's `script` or `jti` differs from its run-start's.
    #[error("`{field}` differs from its run's (seq {run})")]
    RunMismatch { run: u64, field: &'static str },
}

impl RuleError {
    /// A short stable name for the error, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            RuleError::FirstNotLogStart { .. } => "first-not-log-start",
            RuleError::LogStartAgain => "log-start-again",
            RuleError::Shape(_) => "invalid-entry",
            RuleError::DanglingResult { .. } => "dangling-result",
            RuleError::DuplicateResult { .. } => "duplicate-result",
            RuleError::ResultForRefusedStep { .. } => "result-for-refused-step",
            RuleError::StepOutsideRun { .. } => "step-outside-run",
            RuleError::RunMismatch { .. } => "run-mismatch",
        }
    }
}

/// A run that started and has not ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRun {
    /// The seq of its run-start entry (on line `seq + 1`).
    pub seq: u64,
    pub script: ContentHash,
    pub jti: Option<String>,
}

/// A step that was written ahead of acting and has no result yet: after a crash, the action
/// it announced may or may not have happened, but it is never missing from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStep {
    /// The seq of its step entry (on line `seq + 1`).
    pub seq: u64,
    /// The seq of its run-start entry.
    pub run: u64,
    /// The step's index in its run.
    pub step: u64,
    pub text: String,
}

/// Counts over a log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub runs: u64,
    pub steps: u64,
    pub allow: u64,
    pub ask: u64,
    pub deny: u64,
    /// Steps that acted (allowed, or asked and approved).
    pub acted: u64,
    /// step-results and run-ends that report an error.
    pub failed: u64,
}

/// What the verifier remembers about each earlier entry, only to say precisely why a reference
/// is wrong. One byte per entry; the writer does without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Other,
    RunOpen,
    RunEnded,
    StepOpen,
    StepDone,
    StepRefused,
}

/// The end of a chain: what the next entry must link to, and what is still open.
#[derive(Debug, Clone)]
pub(crate) struct ChainState {
    pub next_seq: u64,
    pub last_hash: ChainHash,
    pub key: VerifyingKey,
    pub instance: String,
    pub open_runs: BTreeMap<u64, OpenRun>,
    pub open_steps: BTreeMap<u64, OpenStep>,
    pub tally: Tally,
    history: Option<Vec<Tag>>,
}

impl ChainState {
    /// The state after a log-start entry whose key and signature were checked.
    pub fn after_log_start(entry: &AuditEntry, key: VerifyingKey, keep_history: bool) -> Self {
        ChainState {
            next_seq: entry.seq.saturating_add(1),
            last_hash: entry.hash,
            key,
            instance: entry.instance.clone(),
            open_runs: BTreeMap::new(),
            open_steps: BTreeMap::new(),
            tally: Tally::default(),
            history: keep_history.then(|| vec![Tag::Other]),
        }
    }

    /// Stops remembering per-entry history (a writer resumed from a verified log).
    pub fn forget_history(&mut self) {
        self.history = None;
    }

    fn tag(&self, seq: u64) -> Option<Tag> {
        let history = self.history.as_ref()?;
        history.get(usize::try_from(seq).ok()?).copied()
    }

    /// Checks `entry` against the rules without changing anything. Seq, link, hash and
    /// signature are the caller's business.
    pub fn check(&self, entry: &AuditEntry) -> Result<(), RuleError> {
        if entry.kind == EntryKind::LogStart {
            return Err(RuleError::LogStartAgain);
        }
        entry.check_shape()?;
        match entry.kind {
            EntryKind::Step => {
                let run = entry.run.unwrap_or_default();
                let open = self
                    .open_runs
                    .get(&run)
                    .ok_or(RuleError::StepOutsideRun { run })?;
                if entry.script != Some(open.script) {
                    return Err(RuleError::RunMismatch {
                        run,
                        field: "script",
                    });
                }
                if entry.jti != open.jti {
                    return Err(RuleError::RunMismatch { run, field: "jti" });
                }
            }
            EntryKind::StepResult => {
                let of = entry.of.unwrap_or_default();
                if !self.open_steps.contains_key(&of) {
                    return Err(match self.tag(of) {
                        Some(Tag::StepDone) => RuleError::DuplicateResult {
                            of,
                            kind: EntryKind::StepResult,
                        },
                        Some(Tag::StepRefused) => RuleError::ResultForRefusedStep { of },
                        _ => RuleError::DanglingResult {
                            of,
                            expected: EntryKind::Step,
                        },
                    });
                }
            }
            EntryKind::RunEnd => {
                let of = entry.of.unwrap_or_default();
                if !self.open_runs.contains_key(&of) {
                    return Err(match self.tag(of) {
                        Some(Tag::RunEnded) => RuleError::DuplicateResult {
                            of,
                            kind: EntryKind::RunEnd,
                        },
                        _ => RuleError::DanglingResult {
                            of,
                            expected: EntryKind::RunStart,
                        },
                    });
                }
            }
            EntryKind::LogStart | EntryKind::RunStart | EntryKind::Note => {}
        }
        Ok(())
    }

    /// Records a checked entry as the new end of the chain.
    pub fn apply(&mut self, entry: &AuditEntry) {
        let mut tag = Tag::Other;
        let mut retag = None;
        match entry.kind {
            EntryKind::RunStart => {
                self.tally.runs += 1;
                tag = Tag::RunOpen;
                if let Some(script) = entry.script {
                    self.open_runs.insert(
                        entry.seq,
                        OpenRun {
                            seq: entry.seq,
                            script,
                            jti: entry.jti.clone(),
                        },
                    );
                }
            }
            EntryKind::Step => {
                self.tally.steps += 1;
                match entry.decision {
                    Some(Outcome::Allow) => self.tally.allow += 1,
                    Some(Outcome::Ask) => self.tally.ask += 1,
                    Some(Outcome::Deny) => self.tally.deny += 1,
                    None => {}
                }
                if entry.acts() {
                    self.tally.acted += 1;
                    tag = Tag::StepOpen;
                    self.open_steps.insert(
                        entry.seq,
                        OpenStep {
                            seq: entry.seq,
                            run: entry.run.unwrap_or_default(),
                            step: entry.step.unwrap_or_default(),
                            text: entry.text.clone().unwrap_or_default(),
                        },
                    );
                } else {
                    tag = Tag::StepRefused;
                }
            }
            EntryKind::StepResult => {
                if let Some(of) = entry.of {
                    self.open_steps.remove(&of);
                    retag = Some((of, Tag::StepDone));
                }
            }
            EntryKind::RunEnd => {
                if let Some(of) = entry.of {
                    self.open_runs.remove(&of);
                    retag = Some((of, Tag::RunEnded));
                }
            }
            EntryKind::LogStart | EntryKind::Note => {}
        }
        if entry.result.as_ref().is_some_and(|r| !r.ok) {
            self.tally.failed += 1;
        }
        if let Some(history) = &mut self.history {
            history.push(tag);
            if let Some((of, t)) = retag {
                if let Some(slot) = usize::try_from(of).ok().and_then(|i| history.get_mut(i)) {
                    *slot = t;
                }
            }
        }
        self.next_seq = entry.seq.saturating_add(1);
        self.last_hash = entry.hash;
    }

    /// Check, then apply.
    pub fn admit(&mut self, entry: &AuditEntry) -> Result<(), RuleError> {
        self.check(entry)?;
        self.apply(entry);
        Ok(())
    }
}
