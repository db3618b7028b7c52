//! The small value types an audit entry is made of: times, hashes, the entry kind, the target,
//! the approval and a step's result. Each parses strictly and prints in exactly one way, so an
//! entry has exactly one canonical form.

use crate::decision::Outcome;
use sha2::{Digest, Sha256};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// An RFC 3339 time as written in the log. The text is kept verbatim, because the hash covers
/// the text, not the instant it denotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    at: OffsetDateTime,
}

/// Why a time cannot be used in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The text is not an RFC 3339 date and time.
    #[error("`{text}` is not an RFC 3339 time")]
    Invalid { text: String },
    /// RFC 3339 only has four-digit years.
    #[error("the time is outside the years 0000 to 9999 that RFC 3339 can write")]
    OutOfRange,
}

impl Timestamp {
    /// Writes `at` in UTC as RFC 3339 (`2025-03-01T12:00:00Z`, with fractional seconds only
    /// when there are any).
    pub fn new(at: OffsetDateTime) -> Result<Self, TimestampError> {
        let at = at.to_offset(UtcOffset::UTC);
        let text = at
            .format(&Rfc3339)
            .map_err(|_| TimestampError::OutOfRange)?;
        Ok(Timestamp { text, at })
    }

    /// Reads a time as found in a log line; any valid RFC 3339 text is accepted and kept as is.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimestampError::Invalid {
            text: text.to_owned(),
        })?;
        Ok(Timestamp {
            text: text.to_owned(),
            at,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn datetime(&self) -> OffsetDateTime {
        self.at
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The hash that chains entries: 32 bytes, written as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The `prev` of the first entry.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// Reads exactly 64 lowercase hex digits; uppercase is refused so each hash has one text.
    pub fn parse_hex(text: &str) -> Option<Self> {
        parse_lower_hex32(text).map(ChainHash)
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A SHA-256 digest of some content (a script, an observation), written `sha256:<hex>`, the
/// same form as the token's `script` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(Sha256::digest(bytes).into())
    }

    /// Reads `sha256:` followed by 64 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        text.strip_prefix("sha256:")
            .and_then(parse_lower_hex32)
            .map(ContentHash)
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

fn parse_lower_hex32(text: &str) -> Option<[u8; 32]> {
    let lower = text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if text.len() != 64 || !lower {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// What an entry records. The set is closed: a verifier refuses any other kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// The first entry of every log: names the instance and carries its public key.
    LogStart,
    /// A script run begins (after the script checked; the token may or may not be valid).
    RunStart,
    /// A step is about to act (write-ahead), or was refused and will never act.
    Step,
    /// A step that acted has completed; `of` names its step entry.
    StepResult,
    /// A run ended; `of` names its run-start entry.
    RunEnd,
    /// Free text from the executor (a policy reload, a restart).
    Note,
}

impl EntryKind {
    pub const ALL: [EntryKind; 6] = [
        EntryKind::LogStart,
        EntryKind::RunStart,
        EntryKind::Step,
        EntryKind::StepResult,
        EntryKind::RunEnd,
        EntryKind::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::LogStart => "log-start",
            EntryKind::RunStart => "run-start",
            EntryKind::Step => "step",
            EntryKind::StepResult => "step-result",
            EntryKind::RunEnd => "run-end",
            EntryKind::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads `allow`, `ask` or `deny`.
pub(crate) fn parse_outcome(text: &str) -> Option<Outcome> {
    [Outcome::Allow, Outcome::Ask, Outcome::Deny]
        .into_iter()
        .find(|o| o.as_str() == text)
}

/// The element a step resolved to, as the page reported it just before the step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The computed ARIA role.
    pub role: String,
    /// The computed accessible name.
    pub name: String,
    /// The fingerprint the actuator re-checks before acting.
    pub fingerprint: String,
}

/// The user's answer to an approval dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalChoice {
    /// Approved this step.
    Once,
    /// Approved this step and the rest of this script.
    Script,
    /// Denied.
    Deny,
    /// The dialog timed out without an answer.
    Timeout,
    /// The dialog was closed without an answer.
    Closed,
}

impl ApprovalChoice {
    pub const ALL: [ApprovalChoice; 5] = [
        ApprovalChoice::Once,
        ApprovalChoice::Script,
        ApprovalChoice::Deny,
        ApprovalChoice::Timeout,
        ApprovalChoice::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalChoice::Once => "once",
            ApprovalChoice::Script => "script",
            ApprovalChoice::Deny => "deny",
            ApprovalChoice::Timeout => "timeout",
            ApprovalChoice::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ApprovalChoice::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Whether the step may act after this answer. Anything but an explicit approval refuses.
    pub fn permits(self) -> bool {
        matches!(self, ApprovalChoice::Once | ApprovalChoice::Script)
    }
}

impl fmt::Display for ApprovalChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who approved, when and how. The dialog is the executor's own, so "who" is always the local
/// user of this instance; the log records the answer and its time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Approval {
    pub choice: ApprovalChoice,
    pub at: Timestamp,
}

/// How a step or a run ended. Observations are hashed, never stored, so page text and secrets
/// never land in the log; the hash still lets a replay show that it saw the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Completion {
    /// True exactly when `error` is absent.
    pub ok: bool,
    pub error: Option<String>,
    pub observation: Option<ContentHash>,
}

impl Completion {
    /// A success, with the digest of what the step observed, if it observed anything.
    pub fn succeeded(observation: Option<&[u8]>) -> Self {
        Completion {
            ok: true,
            error: None,
            observation: observation.map(ContentHash::of),
        }
    }

    /// A failure with its message (lowercase, as shown to the user).
    pub fn failed(error: impl Into<String>, observation: Option<&[u8]>) -> Self {
        Completion {
            ok: false,
            error: Some(error.into()),
            observation: observation.map(ContentHash::of),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_are_written_in_utc_and_kept_verbatim_when_read() {
        let t = Timestamp::new(datetime!(2025-03-01 13:00:00.5 +01:00)).unwrap();
        assert_eq!(t.as_str(), "2025-03-01T12:00:00.5Z");
        let read = Timestamp::parse("2025-03-01T13:00:00+01:00").unwrap();
        assert_eq!(read.as_str(), "2025-03-01T13:00:00+01:00");
        assert_eq!(read.datetime(), datetime!(2025-03-01 12:00:00 UTC));
    }

    #[test]
    fn timestamps_refuse_what_rfc_3339_cannot_write() {
        let err = Timestamp::parse("yesterday").unwrap_err();
        assert_eq!(err.to_string(), "`yesterday` is not an RFC 3339 time");
        let err = Timestamp::new(datetime!(-0001-01-01 0:00 UTC)).unwrap_err();
        assert_eq!(err, TimestampError::OutOfRange);
        assert_eq!(
            err.to_string(),
            "the time is outside the years 0000 to 9999 that RFC 3339 can write"
        );
    }

    #[test]
    fn hashes_have_one_spelling() {
        let hex = "ab".repeat(32);
        assert_eq!(ChainHash::parse_hex(&hex).unwrap().to_hex(), hex);
        assert_eq!(ChainHash::parse_hex(&hex.to_uppercase()), None);
        assert_eq!(ChainHash::parse_hex(&hex[..62]), None);
        assert_eq!(ChainHash::parse_hex(&format!("{hex}00")), None);
        assert_eq!(ChainHash::GENESIS.to_hex(), "0".repeat(64));

        let c = ContentHash::of(b"abc");
        assert_eq!(
            c.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ContentHash::parse(&c.to_string()), Some(c));
        assert_eq!(ContentHash::parse(&hex), None);
        assert_eq!(ContentHash::parse(&format!("SHA256:{hex}")), None);
    }

    #[test]
    fn words_round_trip_and_unknown_words_are_refused() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::parse("Step"), None);
        for c in ApprovalChoice::ALL {
            assert_eq!(ApprovalChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(ApprovalChoice::parse("always"), None);
        assert_eq!(parse_outcome("ask"), Some(Outcome::Ask));
        assert_eq!(parse_outcome("maybe"), None);
        let permitted: Vec<_> = ApprovalChoice::ALL
            .into_iter()
            .filter(|c| c.permits())
            .collect();
        assert_eq!(permitted, [ApprovalChoice::Once, ApprovalChoice::Script]);
    }

    #[test]
    fn completions_hash_observations_instead_of_storing_them() {
        let done = Completion::succeeded(Some(b"secret page text"));
        assert!(done.ok);
        assert_eq!(done.error, None);
        assert_eq!(done.observation, Some(ContentHash::of(b"secret page text")));
        let failed = Completion::failed("element not found", None);
        assert!(!failed.ok);
        assert_eq!(failed.error.as_deref(), Some("element not found"));
        assert_eq!(failed.observation, None);
    }
}
