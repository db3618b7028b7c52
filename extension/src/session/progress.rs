//! What a run in progress tells its planner, and how it is cancelled from outside.
//!
//! Progress reports carry the engine's step records only: decisions, approvals, results and
//! error codes, never the values typed or read (`docs/protocol.md#what-never-crosses`).

use super::{Session, Todo};
use crate::instance::{Instance, Now};
use bridle_executor::engine::StepRecord;

impl Session {
    /// The step executions recorded from index `from` on (the service worker remembers how
    /// many it reported). Once the run is over they are in the result's `steps` instead.
    pub fn records_from(&self, from: usize) -> &[StepRecord] {
        self.machine.records().get(from..).unwrap_or(&[])
    }
}

impl Instance {
    /// Stops the run at the planner's or the user's request: the step in progress is recorded
    /// as cancelled and the run ends with outcome `cancelled` once its audit entries are
    /// written. Returns the next thing to do (the end, unless an audit write fails first).
    pub fn cancel_run(&mut self, session: &mut Session, now: &Now) -> Todo {
        session.pending = session.machine.cancel();
        self.advance(session, None, now)
    }
}
