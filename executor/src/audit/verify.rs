//! Verifying an exported log: every line canonical, seqs consecutive from 0, each `prev` the
//! hash of the entry before, each hash recomputed, each signature checked with the key from
//! the log-start entry (pinned by the caller where possible), and the rules between entries.
//! Stops at the first failure and names its line.

use super::entry::AuditEntry;
use super::state::{ChainState, OpenRun, OpenStep, RuleError, Tally};
use super::types::{ChainHash, EntryKind};
use super::MAX_LINE_BYTES;
use crate::keys::{encode_public_key, instance_id, parse_public_key};
use ed25519_dalek::VerifyingKey;

/// What the verifier trusts the log's key to be. Without a pin, anyone can write a whole new
/// log under their own key and it verifies: only a pinned log is evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPin {
    /// The log must be signed by this public key.
    PublicKey(VerifyingKey),
    /// The log must belong to this instance id (which is derived from its key).
    Instance(String),
    /// Trust the key the log-start entry carries; the report says so.
    Unpinned,
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries (the log-start included).
    pub entries: u64,
    pub tally: Tally,
    /// Steps written ahead of acting with no result: actions that may or may not have
    /// happened (a crash, or a log exported mid-run).
    pub open_steps: Vec<OpenStep>,
    /// Runs without a run-end.
    pub open_runs: Vec<OpenRun>,
    pub instance: String,
    pub public_key: VerifyingKey,
    /// Whether the key was pinned by the caller; if not, the log proves only that whoever
    /// holds the key in its first entry wrote it.
    pub pinned: bool,
    /// The seq and hash of the last entry. Deleting entries from the end of a log leaves a
    /// valid shorter chain; only comparing these with a copy kept elsewhere detects that.
    pub last_seq: u64,
    pub last_hash: ChainHash,
}

/// The first thing wrong with a log. Lines count from 1; entry `seq` N belongs on line N + 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// Every log begins with its log-start entry, so an empty file has lost at least that.
    #[error("the log is empty")]
    Empty,
    /// A line longer than [`MAX_LINE_BYTES`], refused before it is parsed.
    #[error("line {line}: the line is {len} bytes, more than the limit of {MAX_LINE_BYTES}")]
    TooLong { line: usize, len: usize },
    /// The last line has no newline: the log was cut, possibly in the middle of an entry.
    #[error("line {line}: incomplete line: the log does not end with a newline")]
    Truncated { line: usize },
    /// Lines end with `\n` only.
    #[error("line {line}: the line ends with a carriage return")]
    CarriageReturn { line: usize },
    /// The line is not an entry: not UTF-8, empty, not JSON, or a field of the wrong type.
    #[error("line {line}: not a valid entry: {detail}")]
    Malformed { line: usize, detail: String },
    /// The line parses but is not written exactly as the canonical form writes it (spacing,
    /// key order, escapes, duplicate keys): refused so that every changed byte is detected.
    #[error("line {line} (seq {seq}): not in canonical form")]
    NonCanonical { line: usize, seq: u64 },
    /// A seq was skipped: entries were deleted (or the first entry is not seq 0).
    #[error("line {line}: missing entries: expected seq {expected}, found seq {found}")]
    Missing {
        line: usize,
        expected: u64,
        found: u64,
    },
    /// The expected seq comes later in the file: entries were moved.
    #[error("line {line}: out of order: expected seq {expected}, found seq {found}; seq {expected} is on line {expected_line}")]
    Reordered {
        line: usize,
        expected: u64,
        found: u64,
        expected_line: usize,
    },
    /// The same line again.
    #[error("line {line} (seq {seq}): duplicate of line {first_line}")]
    Duplicate {
        line: usize,
        seq: u64,
        first_line: usize,
    },
    /// An earlier seq again, with other content: an entry from another log or a forked chain.
    #[error("line {line} (seq {seq}): seq {seq} was already used by line {first_line} for a different entry")]
    SeqReused {
        line: usize,
        seq: u64,
        first_line: usize,
    },
    /// `prev` is not the hash of the previous entry: an entry was replaced or edited and
    /// re-hashed.
    #[error("line {line} (seq {seq}): broken link: {}", link_detail(*.seq))]
    BrokenLink { line: usize, seq: u64 },
    /// The entry does not hash to its `hash`: it was edited.
    #[error("line {line} (seq {seq}): bad hash: the entry's content does not match its `hash`")]
    BadHash { line: usize, seq: u64 },
    /// The signature does not verify with the log's key.
    #[error("line {line} (seq {seq}): bad signature")]
    BadSignature { line: usize, seq: u64 },
    /// The log-start's key is unusable, or its instance id is not derived from it.
    #[error("line 1 (seq 0): bad key: {detail}")]
    BadKey { detail: String },
    /// The log is signed by another key than the pinned one.
    #[error(
        "line 1 (seq 0): the log is signed by key `{found}`, not by the pinned key `{pinned}`"
    )]
    KeyMismatch { pinned: String, found: String },
    /// The log belongs to another instance than the pinned one.
    #[error("line 1 (seq 0): the log belongs to instance `{found}`, not to the pinned instance `{pinned}`")]
    InstanceMismatch { pinned: String, found: String },
    /// An entry names another instance than the log-start: spliced in from another log.
    #[error("line {line} (seq {seq}): entry of instance `{found}` in the log of instance `{log}`")]
    ForeignEntry {
        line: usize,
        seq: u64,
        found: String,
        log: String,
    },
    /// A rule between entries is broken.
    #[error("line {line} (seq {seq}): {rule}")]
    Rule {
        line: usize,
        seq: u64,
        rule: RuleError,
    },
}

fn link_detail(seq: u64) -> String {
    match seq.checked_sub(1) {
        None => "prev of the first entry must be 64 zeros".to_owned(),
        Some(before) => format!("prev does not match the hash of seq {before}"),
    }
}

impl AuditError {
    /// The line the error is on, when it is on one.
    pub fn line(&self) -> Option<usize> {
        use AuditError::*;
        match self {
            Empty => None,
            BadKey { .. } | KeyMismatch { .. } | InstanceMismatch { .. } => Some(1),
            TooLong { line, .. }
            | Truncated { line }
            | CarriageReturn { line }
            | Malformed { line, .. }
            | NonCanonical { line, .. }
            | Missing { line, .. }
            | Reordered { line, .. }
            | Duplicate { line, .. }
            | SeqReused { line, .. }
            | BrokenLink { line, .. }
            | BadHash { line, .. }
            | BadSignature { line, .. }
            | ForeignEntry { line, .. }
            | Rule { line, .. } => Some(*line),
        }
    }

    /// The seq of the entry the error is about, when the line parsed far enough to have one.
    pub fn seq(&self) -> Option<u64> {
        use AuditError::*;
        match self {
            Empty | TooLong { .. } | Truncated { .. } | CarriageReturn { .. } => None,
            Malformed { .. } => None,
            BadKey { .. } | KeyMismatch { .. } | InstanceMismatch { .. } => Some(0),
            Missing { found, .. } | Reordered { found, .. } => Some(*found),
            NonCanonical { seq, .. }
            | Duplicate { seq, .. }
            | SeqReused { seq, .. }
            | BrokenLink { seq, .. }
            | BadHash { seq, .. }
            | BadSignature { seq, .. }
            | ForeignEntry { seq, .. }
            | Rule { seq, .. } => Some(*seq),
        }
    }

    /// A short stable name for the error, for `--json` output and scripts.
    pub fn kind(&self) -> &'static str {
        use AuditError::*;
        match self {
            Empty => "empty",
            TooLong { .. } => "too-long",
            Truncated { .. } => "truncated",
            CarriageReturn { .. } => "carriage-return",
            Malformed { .. } => "malformed",
            NonCanonical { .. } => "non-canonical",
            Missing { .. } => "missing",
            Reordered { .. } => "reordered",
            Duplicate { .. } => "duplicate",
            SeqReused { .. } => "seq-reused",
            BrokenLink { .. } => "broken-link",
            BadHash { .. } => "bad-hash",
            BadSignature { .. } => "bad-signature",
            BadKey { .. } => "bad-key",
            KeyMismatch { .. } => "key-mismatch",
            InstanceMismatch { .. } => "instance-mismatch",
            ForeignEntry { .. } => "foreign-entry",
            Rule { rule, .. } => rule.kind(),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        use AuditError::*;
        match self {
            Empty => "an exported log begins with its log-start entry; export it again",
            TooLong { .. } => "no entry the executor writes is this long; the line was altered",
            Truncated { .. } => {
                "entries before this line verified; the log was cut, perhaps while an entry was being written"
            }
            CarriageReturn { .. } => {
                "the file was converted to CRLF line endings; convert it back to LF (for example with dos2unix)"
            }
            Malformed { .. } | NonCanonical { .. } => {
                "the line was altered or is not from a Bridle audit log"
            }
            Missing { .. } => "entries were deleted from the log",
            Reordered { .. } => "entries were moved; the log must list them in seq order",
            Duplicate { .. } => "an entry was copied; a log lists each entry once",
            SeqReused { .. } => "an entry from another log or a forked copy of this one was inserted",
            BrokenLink { .. } => "the entry before this one was replaced, or this one was moved or rewritten",
            BadHash { .. } => "the entry was edited after it was written",
            BadSignature { .. } => {
                "the entry was changed and re-hashed without the instance key, or signed by another key"
            }
            BadKey { .. } => "the log-start entry was altered or is not from a Bridle executor",
            KeyMismatch { .. } | InstanceMismatch { .. } => {
                "this log was not written by the pinned instance; check the pin, or the log was re-signed by someone else"
            }
            ForeignEntry { .. } => "an entry from another instance's log was spliced in",
            Rule { .. } => "the writer holding the instance key wrote an entry the log's rules forbid",
        }
    }
}

/// Verifies a whole log. `log` is the exported file: UTF-8 JSON Lines, each line ending with
/// `\n`.
pub fn verify_log(log: &[u8], pin: &KeyPin) -> Result<VerifyReport, AuditError> {
    let mut verifier = LogVerifier::new(pin.clone());
    verifier.feed(log)?;
    verifier.finish()
}

/// A verifier that reads a log in pieces of whole lines, for logs read from storage a chunk at
/// a time. [`verify_log`] is `new`, one `feed` and `finish`. After the first error every
/// further call returns that error again.
#[derive(Debug, Clone)]
pub struct LogVerifier {
    pin: KeyPin,
    state: Option<ChainState>,
    /// Every entry's hash by seq, so a repeated seq can be told apart as a copy.
    hashes: Vec<ChainHash>,
    /// Lines read so far.
    line: usize,
    failed: Option<AuditError>,
}

/// One line of the input: its bytes (without the newline) and whether a newline ended it.
fn split_line(rest: &[u8]) -> (&[u8], bool, &[u8]) {
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], true, &rest[i + 1..]),
        None => (rest, false, &[]),
    }
}

impl LogVerifier {
    pub fn new(pin: KeyPin) -> Self {
        LogVerifier {
            pin,
            state: None,
            hashes: Vec::new(),
            line: 0,
            failed: None,
        }
    }

    /// Checks the next lines. `chunk` holds whole lines, each ending with `\n`; a last line
    /// without one is reported as truncated.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), AuditError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let (raw, terminated, next) = split_line(rest);
            rest = next;
            self.line += 1;
            if let Err(e) = self.line_ok(raw, terminated, rest) {
                self.failed = Some(e.clone());
                return Err(e);
            }
        }
        Ok(())
    }

    /// The report on everything fed so far.
    pub fn finish(&self) -> Result<VerifyReport, AuditError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let state = self.state.as_ref().ok_or(AuditError::Empty)?;
        Ok(VerifyReport {
            entries: state.next_seq,
            tally: state.tally,
            open_steps: state.open_steps.values().cloned().collect(),
            open_runs: state.open_runs.values().cloned().collect(),
            instance: state.instance.clone(),
            public_key: state.key,
            pinned: !matches!(self.pin, KeyPin::Unpinned),
            last_seq: state.next_seq.saturating_sub(1),
            last_hash: state.last_hash,
        })
    }

    /// The chain state at the end, for a writer to continue from.
    pub(crate) fn into_state(self) -> Result<ChainState, AuditError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        self.state.ok_or(AuditError::Empty)
    }

    /// Checks one line; `after` is the rest of the chunk, searched only to explain a seq gap.
    fn line_ok(&mut self, raw: &[u8], terminated: bool, after: &[u8]) -> Result<(), AuditError> {
        let line = self.line;
        if raw.len() > MAX_LINE_BYTES {
            return Err(AuditError::TooLong {
                line,
                len: raw.len(),
            });
        }
        if !terminated {
            return Err(AuditError::Truncated { line });
        }
        if raw.last() == Some(&b'\r') {
            return Err(AuditError::CarriageReturn { line });
        }
        let malformed = |detail: String| AuditError::Malformed { line, detail };
        let text = std::str::from_utf8(raw)
            .map_err(|e| malformed(format!("not valid UTF-8 at byte {}", e.valid_up_to())))?;
        if text.is_empty() {
            return Err(malformed("the line is empty".into()));
        }
        let entry = AuditEntry::parse(text).map_err(|e| malformed(e.0))?;
        let seq = entry.seq;
        if entry.to_line() != text {
            return Err(AuditError::NonCanonical { line, seq });
        }
        let expected = self.state.as_ref().map_or(0, |s| s.next_seq);
        if seq != expected {
            return Err(self.seq_error(&entry, after, expected));
        }
        let prev = self
            .state
            .as_ref()
            .map_or(ChainHash::GENESIS, |s| s.last_hash);
        if entry.prev != prev {
            return Err(AuditError::BrokenLink { line, seq });
        }
        if entry.compute_hash() != entry.hash {
            return Err(AuditError::BadHash { line, seq });
        }
        match &mut self.state {
            None => self.state = Some(open_log(&entry, &self.pin)?),
            Some(s) => {
                if entry.instance != s.instance {
                    return Err(AuditError::ForeignEntry {
                        line,
                        seq,
                        found: entry.instance,
                        log: s.instance.clone(),
                    });
                }
                if !entry.signature_valid(&s.key) {
                    return Err(AuditError::BadSignature { line, seq });
                }
                s.admit(&entry)
                    .map_err(|rule| AuditError::Rule { line, seq, rule })?;
            }
        }
        self.hashes.push(entry.hash);
        Ok(())
    }

    /// Says which tampering a wrong seq points at. Only runs on failure, so it may scan the
    /// rest of the chunk.
    fn seq_error(&self, entry: &AuditEntry, after: &[u8], expected: u64) -> AuditError {
        let (line, found) = (self.line, entry.seq);
        if found > expected {
            // Moved or deleted: moved if the expected seq turns up further down.
            let mut rest = after;
            let mut at = line;
            while !rest.is_empty() {
                at += 1;
                let (candidate, _, next) = split_line(rest);
                rest = next;
                let seq = serde_json::from_slice::<serde_json::Value>(candidate)
                    .ok()
                    .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64));
                if seq == Some(expected) {
                    return AuditError::Reordered {
                        line,
                        expected,
                        found,
                        expected_line: at,
                    };
                }
            }
            return AuditError::Missing {
                line,
                expected,
                found,
            };
        }
        // Every earlier line verified, so seq `found` is on line `found + 1`.
        let first_line = usize::try_from(found).map_or(usize::MAX, |f| f.saturating_add(1));
        let earlier = usize::try_from(found).ok().and_then(|i| self.hashes.get(i));
        // The same hash, and a hash that is right for the content: the same entry again.
        if earlier == Some(&entry.hash) && entry.compute_hash() == entry.hash {
            AuditError::Duplicate {
                line,
                seq: found,
                first_line,
            }
        } else {
            AuditError::SeqReused {
                line,
                seq: found,
                first_line,
            }
        }
    }
}

pub(crate) fn verify_state(log: &[u8], pin: &KeyPin) -> Result<ChainState, AuditError> {
    let mut verifier = LogVerifier::new(pin.clone());
    verifier.feed(log)?;
    verifier.into_state()
}

/// Checks the log-start entry (line 1, seq 0, link and hash already checked) and the pin.
fn open_log(entry: &AuditEntry, pin: &KeyPin) -> Result<ChainState, AuditError> {
    let rule = |rule| AuditError::Rule {
        line: 1,
        seq: 0,
        rule,
    };
    if entry.kind != EntryKind::LogStart {
        return Err(rule(RuleError::FirstNotLogStart { kind: entry.kind }));
    }
    let encoded = entry.key.as_deref().ok_or_else(|| {
        rule(RuleError::Shape(super::entry::ShapeError::MissingField {
            kind: EntryKind::LogStart,
            field: "key",
        }))
    })?;
    let key = parse_public_key(encoded).map_err(|e| AuditError::BadKey {
        detail: format!("`key`: {e}"),
    })?;
    let derived = instance_id(&key);
    if entry.instance != derived {
        return Err(AuditError::BadKey {
            detail: format!(
                "instance `{}` is not derived from `key` (which gives `{derived}`)",
                entry.instance
            ),
        });
    }
    match pin {
        KeyPin::PublicKey(pinned) if *pinned != key => {
            return Err(AuditError::KeyMismatch {
                pinned: encode_public_key(pinned),
                found: encoded.to_owned(),
            })
        }
        KeyPin::Instance(pinned) if *pinned != entry.instance => {
            return Err(AuditError::InstanceMismatch {
                pinned: pinned.clone(),
                found: entry.instance.clone(),
            })
        }
        _ => {}
    }
    if !entry.signature_valid(&key) {
        return Err(AuditError::BadSignature { line: 1, seq: 0 });
    }
    entry.check_shape().map_err(|e| rule(RuleError::Shape(e)))?;
    Ok(ChainState::after_log_start(entry, key, true))
}
