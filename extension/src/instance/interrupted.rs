//! Runs cut off by a service-worker restart: recorded as ended, never left open.
//!
//! A run's state lives in the service worker's memory; the browser may stop the worker at any
//! time (or the browser may crash). Everything the run did is in the audit log already, written
//! ahead of each action, so on the next start the log shows which steps were announced without
//! a result and which runs never ended. Each is closed with an `interrupted` error: whether an
//! announced action happened is unknown and is said so, and the run's token stays used.

use super::Instance;
use crate::instance::Now;
use bridle_executor::audit::{Completion, EntryDraft, WriteError};

/// The error recorded for a step or run cut off by a restart.
pub const INTERRUPTED: &str =
    "interrupted: the extension's service worker stopped during the run; whether this step's action happened is unknown";

impl Instance {
    /// Closes every step and run the log shows open: their results and run-ends are written
    /// with [`INTERRUPTED`]. Returns how many runs were closed.
    pub(crate) fn close_interrupted(&mut self, now: &Now) -> Result<usize, WriteError> {
        let chain = self.audit.chain();
        let steps: Vec<u64> = chain.open_steps().map(|s| s.seq).collect();
        let runs: Vec<u64> = chain.open_runs().map(|r| r.seq).collect();
        for seq in steps {
            let draft = EntryDraft::step_result(
                now.timestamp(),
                seq,
                Completion::failed(INTERRUPTED, None),
            );
            self.audit.record(draft, &self.key)?;
        }
        for seq in &runs {
            let draft =
                EntryDraft::run_end(now.timestamp(), *seq, Completion::failed(INTERRUPTED, None));
            self.audit.record(draft, &self.key)?;
        }
        Ok(runs.len())
    }
}
