//! The audit log: append-only JSON Lines, each entry hash-chained to the one before and signed
//! with the executor instance's key, written ahead of every action. Format and rules in
//! `docs/audit.md`.
//!
//! - [`types`]: the values an entry is made of (times, hashes, kinds, target, approval, result)
//! - [`entry`]: one entry, its canonical bytes, hash, signature and per-kind shape
//! - [`parse`]: one line back into an entry
//! - [`state`]: the rules between entries, shared by writer and verifier
//! - [`chain`]: the writer, [`AuditChain`], which turns drafts into sealed entries
//! - [`store`]: the [`AuditStore`] trait and [`AuditWriter`], which keeps chain and store in step
//! - [`verify`]: [`verify_log`], which checks an exported log and names its first fault

pub mod chain;
pub mod entry;
pub mod parse;
pub mod state;
pub mod store;
pub mod types;
pub mod verify;

pub use chain::{AppendError, AuditChain, EntryDraft, PendingEntry, StepRecord};
pub use entry::{AuditEntry, ShapeError, FIELDS};
pub use parse::MalformedEntry;
pub use state::{OpenRun, OpenStep, RuleError, Tally};
pub use store::{AuditStore, AuditStoreError, AuditWriter, MemoryAuditStore, WriteError};
pub use types::{
    Approval, ApprovalChoice, ChainHash, Completion, ContentHash, EntryKind, Target, Timestamp,
    TimestampError,
};
pub use verify::{verify_log, AuditError, KeyPin, LogVerifier, VerifyReport};

/// Longest line (without its newline) the verifier reads and the writer writes, in bytes. The
/// biggest entry is a step whose text holds a job's code: at most
/// [`bridle_dsl::limits::MAX_JOB_CODE_BYTES`], which JSON escaping can grow at most six-fold
/// (a control character becomes `\u00xx`), plus room for the other fields and reasons. A
/// hostile multi-megabyte line costs one length check.
pub const MAX_LINE_BYTES: usize = 6 * bridle_dsl::limits::MAX_JOB_CODE_BYTES + 128 * 1024;

/// Largest number (seq, run, of, step) the format allows: 2^53 − 1, the largest integer every
/// JSON reader, JavaScript's included, reads exactly.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// Signed before each entry's hash, so an entry signature can never be mistaken for the
/// instance key's signature over anything else.
pub const SIGNING_CONTEXT: &[u8] = b"bridle-audit-v1";

#[cfg(test)]
mod tests;
