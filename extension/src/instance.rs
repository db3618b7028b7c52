//! One executor instance as the extension holds it: the instance key pair, the local policy in
//! use, the replay store and the end of the audit log. Plain Rust with no JavaScript in it, so
//! everything here is tested natively; the service worker saves what [`Instance`] hands out
//! (the secret key, the policy text, the replay state, new audit lines) and gives it back to
//! [`Instance::load`] after a restart.

use crate::report::{self, PolicyReport, RunResult, ScriptReport, POLICY_FILE_NAME};
use bridle_executor::audit::{
    AuditError, AuditStore, AuditStoreError, AuditWriter, ContentHash, EntryDraft, Timestamp,
    WriteError,
};
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{self, KeyError};
use bridle_executor::policy::DEFAULT_POLICY_TOML;
use bridle_executor::replay::{MemoryReplayStore, ReplayStateError};
use bridle_executor::time::OffsetDateTime;
use bridle_executor::Policy;
use serde::Deserialize;
use std::cell::RefCell;
use std::rc::Rc;

use crate::vault::Vault;

/// The audit log's lines as this instance holds them: those loaded from storage and those
/// written since the service worker last took them to store. Shared between the
/// [`AuditWriter`] (which appends) and the [`Instance`] (which hands new lines out).
#[derive(Debug, Clone, Default)]
pub struct LineStore {
    lines: Rc<RefCell<Lines>>,
}

#[derive(Debug, Default)]
struct Lines {
    stored: Vec<String>,
    unsaved: Vec<String>,
}

impl AuditStore for LineStore {
    fn append(&mut self, line: &str) -> Result<(), AuditStoreError> {
        self.lines.borrow_mut().unsaved.push(line.to_owned());
        Ok(())
    }

    fn lines(&self) -> Result<Vec<String>, AuditStoreError> {
        let lines = self.lines.borrow();
        Ok(lines
            .stored
            .iter()
            .chain(lines.unsaved.iter())
            .cloned()
            .collect())
    }
}

/// What the service worker kept in extension storage; every field is absent on first run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stored {
    /// The instance's secret key: base64url of the 32-byte Ed25519 seed.
    pub secret_key: Option<String>,
    /// The policy the user set; absent means the shipped default.
    pub policy: Option<String>,
    /// [`MemoryReplayStore::to_json`].
    pub replay: Option<String>,
    /// The audit log so far, JSON Lines.
    pub audit_log: Option<String>,
    /// [`Vault::to_json`]: the user's secrets.
    pub vault: Option<String>,
}

/// Why the stored state cannot be used. Each is fatal: running with a key, replay record or
/// log that cannot be trusted would hide or repeat what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The stored secret key is not a 32-byte seed in base64url (storage was damaged or
    /// written by something else).
    #[error("the stored instance key cannot be read: {0}")]
    Key(#[from] KeyError),
    /// The stored replay record is damaged, too large, or of an unknown format.
    #[error(transparent)]
    Replay(#[from] ReplayStateError),
    /// The stored audit log does not verify under the instance key (tampered, truncated
    /// mid-line, or signed by another key).
    #[error("the stored audit log cannot be continued: {0}")]
    Audit(#[from] AuditError),
    /// The audit log could not be opened for writing.
    #[error("the audit log cannot be opened: {0}")]
    Write(#[from] WriteError),
}

/// A time from the browser's clock that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not finite, or outside the years RFC 3339 (and so the audit log) can write.
    #[error(
        "the clock reads `{ms}` ms since 1970, which is not a time between the years 0000 and 9999"
    )]
    OutOfRange { ms: String },
}

/// The current time, from the caller's clock (the executor never reads one), known to be
/// writable in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Now {
    at: OffsetDateTime,
    stamp: Timestamp,
}

impl Now {
    pub fn new(at: OffsetDateTime) -> Result<Now, TimeError> {
        let stamp = Timestamp::new(at).map_err(|_| TimeError::OutOfRange {
            ms: (at.unix_timestamp_nanos() / 1_000_000).to_string(),
        })?;
        Ok(Now { at, stamp })
    }

    /// From the browser's `Date.now()`: milliseconds since 1970.
    pub fn from_millis(ms: f64) -> Result<Now, TimeError> {
        let out_of_range = || TimeError::OutOfRange { ms: ms.to_string() };
        if !ms.is_finite() {
            return Err(out_of_range());
        }
        // `as` saturates beyond i128; the range checks refuse such values.
        let nanos = (ms.trunc() as i128).saturating_mul(1_000_000);
        let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| out_of_range())?;
        Now::new(at).map_err(|_| out_of_range())
    }

    pub fn datetime(&self) -> OffsetDateTime {
        self.at
    }

    pub fn timestamp(&self) -> Timestamp {
        self.stamp.clone()
    }
}

/// The instance: key, policy, replay store and audit chain.
#[derive(Debug)]
pub struct Instance {
    key: SigningKey,
    instance_id: String,
    policy: Policy,
    /// The text of `policy` as the user set it; `None` for the shipped default.
    policy_text: Option<String>,
    replay: MemoryReplayStore,
    pub(crate) audit: AuditWriter<LineStore>,
    /// The same lines as `audit`'s store, to take the unsaved ones out.
    lines: LineStore,
    /// Whether the key was generated by this load (and so must be stored).
    key_is_new: bool,
    warnings: Vec<String>,
    /// The user's secrets, filled by name.
    pub(crate) vault: Vault,
}

impl Instance {
    /// Rebuilds the instance from storage, generating the key pair on first run (with
    /// `generate`, which takes the randomness) and starting the audit log when there is none.
    pub fn load(
        stored: Stored,
        now: &Now,
        generate: impl FnOnce() -> SigningKey,
    ) -> Result<Instance, LoadError> {
        let (key, key_is_new) = match &stored.secret_key {
            Some(text) => (keys::parse_secret_key(text)?, false),
            None => (generate(), true),
        };
        let instance_id = keys::instance_id(&key.verifying_key());
        let mut warnings = Vec::new();
        let (policy, policy_text) = match stored.policy {
            None => (Policy::default_policy(), None),
            Some(text) => match Policy::from_toml(&text) {
                Ok(policy) => (policy, Some(text)),
                // A policy saved by an older version that this one no longer accepts. The
                // default trusts no planner, so falling back to it refuses every token until
                // the user sets a policy again: safe, and visible on the options page.
                Err(e) => {
                    warnings.push(format!(
                        "the stored policy is no longer valid ({POLICY_FILE_NAME}:{}:{}: {}); the default policy, which trusts no planner, is in use until a policy is set again",
                        e.line,
                        e.column,
                        e.message()
                    ));
                    (Policy::default_policy(), None)
                }
            },
        };
        let replay = match &stored.replay {
            Some(json) => MemoryReplayStore::from_json(json)?,
            None => MemoryReplayStore::new(),
        };
        // A vault that cannot be read is set aside with a warning rather than refusing to load:
        // secret fills then fail (entry missing), which is safe and visible.
        let vault = match stored.vault.as_deref().map(Vault::from_json) {
            None => Vault::default(),
            Some(Ok(vault)) => vault,
            Some(Err(e)) => {
                warnings.push(format!(
                    "{e}; the vault is empty until entries are added again"
                ));
                Vault::default()
            }
        };
        let lines = LineStore::default();
        if let Some(log) = stored.audit_log.as_deref() {
            lines.lines.borrow_mut().stored = log
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(str::to_owned)
                .collect();
        }
        let audit =
            AuditWriter::open(lines.clone(), now.timestamp(), &key).map_err(|e| match e {
                WriteError::Resume(e) => LoadError::Audit(e),
                other => LoadError::Write(other),
            })?;
        let mut instance = Instance {
            key,
            instance_id,
            policy,
            policy_text,
            replay,
            audit,
            lines,
            key_is_new,
            warnings,
            vault,
        };
        // A run the last service worker did not finish is recorded as interrupted.
        let closed = instance.close_interrupted(now).map_err(LoadError::Write)?;
        if closed > 0 {
            instance.warnings.push(format!(
                "{closed} run(s) were interrupted when the service worker stopped; the audit log records them as ended with an error"
            ));
        }
        Ok(instance)
    }

    /// `bx1_…`: the id planners put in their tokens' `aud`.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The secret key to store (base64url of the seed).
    pub fn secret_key(&self) -> String {
        keys::encode_secret_key(&self.key)
    }

    /// The public key (base64url), which `bridle audit verify --public-key` pins.
    pub fn public_key(&self) -> String {
        keys::encode_public_key(&self.key.verifying_key())
    }

    /// Whether [`Instance::load`] generated the key, which must then be stored before any
    /// other state (the log and tokens are bound to it).
    pub fn key_is_new(&self) -> bool {
        self.key_is_new
    }

    /// The policy text in use: the user's, or the shipped default.
    pub fn policy_text(&self) -> &str {
        self.policy_text.as_deref().unwrap_or(DEFAULT_POLICY_TOML)
    }

    /// Whether the policy in use is the shipped default.
    pub fn policy_is_default(&self) -> bool {
        self.policy_text.is_none()
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The replay store's JSON, to save after every run.
    pub fn replay_state(&self) -> String {
        self.replay.to_json()
    }

    /// Takes the audit lines written since the last call; the caller stores them, in order.
    pub fn take_audit_lines(&mut self) -> Vec<String> {
        let mut lines = self.lines.lines.borrow_mut();
        let new = std::mem::take(&mut lines.unsaved);
        lines.stored.extend(new.iter().cloned());
        new
    }

    /// Validates `toml` and, when it is valid, makes it the policy in use and notes the change
    /// (with the policy's hash) in the audit log. When it is not, nothing changes and the
    /// report carries every problem found, each with its line.
    pub fn set_policy(&mut self, toml: &str, now: &Now) -> PolicyReport {
        match Policy::from_toml_all(toml) {
            Err(errors) => report::policy_errors(&errors, toml),
            Ok(policy) => {
                let text = format!("policy set: {}", ContentHash::of(toml.as_bytes()));
                if let Err(e) = self.append(EntryDraft::note(now.timestamp(), text)) {
                    return report::policy_not_recorded(&e);
                }
                self.policy = policy;
                self.policy_text = Some(toml.to_owned());
                self.warnings.clear();
                PolicyReport::accepted()
            }
        }
    }

    /// Checks a script against the policy's risk words, without running it.
    pub fn check_script(&self, script: &str) -> ScriptReport {
        report::check_script(script.as_bytes(), &self.policy)
    }

    /// Runs a script as far as this version of the extension can: checks it, verifies the
    /// token (which uses it up, as a run does), decides every step for the plan preview, and
    /// writes the run to the audit log. No step is executed: the result says so.
    pub fn run(&mut self, script: &str, token: &str, now: &Now) -> RunResult {
        let preview = report::preview(
            script.as_bytes(),
            token,
            &self.policy,
            &self.instance_id,
            now.datetime(),
            &mut self.replay,
        );
        self.replay.purge_expired(now.datetime());
        self.record_preview(script, preview, now)
    }

    /// Writes a run that executes nothing (refused, or previewed only) to the audit log.
    pub(crate) fn record_preview(
        &mut self,
        script: &str,
        preview: report::Preview,
        now: &Now,
    ) -> RunResult {
        let time = now.timestamp();
        let run_start = EntryDraft::run_start(
            time.clone(),
            ContentHash::of(script.as_bytes()),
            preview.jti.clone(),
        );
        let started = match self.append(run_start) {
            Ok(seq) => seq,
            Err(e) => return preview.into_audit_failed(&e),
        };
        let end = EntryDraft::run_end(time, started, preview.completion());
        match self.append(end) {
            Ok(_) => preview.into_result(),
            Err(e) => preview.into_audit_failed(&e),
        }
    }

    /// Seals one entry and keeps its line for storage; returns its seq.
    fn append(&mut self, draft: EntryDraft) -> Result<u64, WriteError> {
        Ok(self.audit.record(draft, &self.key)?.seq)
    }

    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn replay_mut(&mut self) -> &mut MemoryReplayStore {
        &mut self.replay
    }
}

mod interrupted;
pub use interrupted::INTERRUPTED;

#[cfg(test)]
mod tests;
