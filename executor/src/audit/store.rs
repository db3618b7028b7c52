//! Where lines go: the [`AuditStore`] trait the host implements (extension storage, a file), an
//! in-memory store, and [`AuditWriter`], which keeps chain and store in step so that an entry
//! counts as written only once the store has it.

use super::chain::{AppendError, AuditChain, EntryDraft};
use super::entry::AuditEntry;
use super::types::Timestamp;
use super::verify::AuditError;
use ed25519_dalek::SigningKey;

/// Why a store could not read or write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditStoreError {
    /// The line could not be stored; the step it announces must not act.
    #[error("the audit log could not be written: {0}")]
    Write(String),
    /// The stored lines could not be read back.
    #[error("the audit log could not be read: {0}")]
    Read(String),
}

/// Append-only storage for log lines.
pub trait AuditStore {
    /// Stores one line (given without its newline). Returns only once the line is durable and
    /// whole: the engine acts on a step only after its line is stored, and a half-written line
    /// makes the log fail verification.
    fn append(&mut self, line: &str) -> Result<(), AuditStoreError>;

    /// Every stored line, oldest first, without newlines.
    fn lines(&self) -> Result<Vec<String>, AuditStoreError>;

    /// The log as an exportable file: each line followed by `\n`.
    fn export(&self) -> Result<String, AuditStoreError> {
        let lines = self.lines()?;
        let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    }
}

/// A store in memory, for tests and for hosts that persist the export themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryAuditStore {
    lines: Vec<String>,
}

impl MemoryAuditStore {
    pub fn new() -> Self {
        MemoryAuditStore::default()
    }
}

impl AuditStore for MemoryAuditStore {
    fn append(&mut self, line: &str) -> Result<(), AuditStoreError> {
        self.lines.push(line.to_owned());
        Ok(())
    }

    fn lines(&self) -> Result<Vec<String>, AuditStoreError> {
        Ok(self.lines.clone())
    }
}

/// Why the writer could not record an entry. In each case nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error(transparent)]
    Store(#[from] AuditStoreError),
    /// The stored log does not verify with the signer's key, so it cannot be continued.
    #[error("the stored audit log cannot be continued: {0}")]
    Resume(#[from] AuditError),
}

/// A chain and its store, kept in step.
#[derive(Debug)]
pub struct AuditWriter<S> {
    chain: AuditChain,
    store: S,
}

impl<S: AuditStore> AuditWriter<S> {
    /// Opens the log in `store`: starts it (writing the log-start entry at `time`) when the
    /// store is empty, otherwise verifies what is there against the signer's key and continues
    /// after its last entry.
    pub fn open(mut store: S, time: Timestamp, signer: &SigningKey) -> Result<Self, WriteError> {
        let lines = store.lines()?;
        let chain = if lines.is_empty() {
            let (chain, first) = AuditChain::start(time, signer);
            store.append(&first.to_line())?;
            chain
        } else {
            let mut log = String::new();
            for line in &lines {
                log.push_str(line);
                log.push('\n');
            }
            AuditChain::resume(log.as_bytes(), signer)?
        };
        Ok(AuditWriter { chain, store })
    }

    /// Writes one entry: seals it, stores it, and only then advances the chain.
    pub fn record(
        &mut self,
        draft: EntryDraft,
        signer: &SigningKey,
    ) -> Result<AuditEntry, WriteError> {
        let pending = self.chain.prepare(draft, signer)?;
        self.store.append(pending.line())?;
        Ok(pending.commit())
    }

    pub fn chain(&self) -> &AuditChain {
        &self.chain
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }
}
