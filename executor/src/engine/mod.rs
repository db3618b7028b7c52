//! The step engine: a sans-IO, resumable state machine that runs a checked script step by
//! step, and a synchronous driver over traits for tests and the CLI.
//!
//! The extension (wasm, with async JavaScript around it) and native tests drive the same
//! [`Machine`]: it returns one [`Effect`] at a time (resolve a target, read the page, decide,
//! ask the user, write the audit log, act …), the caller performs it and feeds back the
//! [`Response`]. [`run_sync`] does that loop over the [`PageDriver`], [`Approver`], [`Pep`],
//! [`AuditSink`] and [`JobRunner`] traits.
//!
//! # One step
//!
//! Every executed step (a step inside a loop once per iteration) goes through:
//!
//! 1. `observe url`: the page's URL, for the decision's facts and the origin of reads;
//! 2. for a step that acts: its operands (the value of `fill`, the URL of `navigate` …),
//!    whose read origins become [`Facts::read_origins`](crate::decision::Facts);
//! 3. the gate: `resolve` its target, `read-amount` when the step is high-risk, `decide`
//!    (when the decision says the page made the step high-risk, the amount is read and the
//!    step decided again with it); `deny` ends the run (`denied`); `ask` asks the user
//!    (`approve`) unless the user chose "approve for this script" for this same step on this
//!    same origin earlier in the run; `confirm` always asks (its record says `ask`);
//!    `handoff` is its own consent (an `ask` does not ask twice);
//! 4. the `started` audit event (write-ahead: nothing acts before it is written, and a failed
//!    write ends the run without acting);
//! 5. what the step does: `act` (with the fingerprint of the element that was decided and
//!    approved), a read, `wait`, `note`, `job` …;
//! 6. the `completed` audit event, and the step's record in the result.
//!
//! Steps that only read (`let`, `if`, `assert`, the check of `repeat` …) are gated the same
//! way, without a target unless they read one element's content (`let x = text of T`, whose
//! gate resolves and decides `T`). Any other element read inside a step (in a condition, in
//! the value of `fill`) resolves and decides that element on its own before it is read
//! (`decide` with `read: true`, which the driver decides as [`read_step`], the step seen as a
//! `let`), so a field the policy never lets be read is denied wherever it appears, even inside
//! a step that acts. `exists`, `visible` and `count of` only test presence and are not
//! decided on their own.
//!
//! Every run begins with a `run-started` audit event and ends with `run-ended` (a failed
//! run-end write is a warning in the result); [`ChainSink`] maps the events onto the signed
//! log of [`crate::audit`].
//!
//! # Loops and approvals
//!
//! - `repeat at most N until C { … }` checks `C` before every iteration, the first included:
//!   the body runs only while `C` does not hold yet, at most `N` times (so a page already in
//!   the wanted state costs no action). Reaching `N` without `C` adds a warning.
//! - `for each x in L at most N { … }` runs `min(len(L), N)` times; a longer list adds a
//!   warning. The list is read once, at the loop's start.
//! - "Approve for this script" covers later `ask`s of the same step index in this run (a
//!   step inside a loop) on the same origin; it never covers another step, another origin,
//!   another run, a `deny`, or a `confirm`.
//!
//! # Data flow
//!
//! Every value carries the origins it was read on ([`Tainted`]); copies, fields,
//! interpolation, comparisons and job outputs carry the union. A step that writes (`fill`,
//! `select`, `press`, the URL of `navigate`/`open tab`, `switch tab`, a job's input) reports
//! its operands' origins in the decision's facts, so the PEP can ask or deny when data read
//! on one origin is written to another. Not tracked: flows through control (an `if` on a
//! value from origin A choosing what to click on origin B) and through target names.
//!
//! # Restart
//!
//! [`MachineState`] is the whole position (serde JSON). Save it after every effect;
//! [`Machine::resume`] then [`Machine::recover`] continue: a pending read, decision or
//! approval is asked again, a pending act or job (which may or may not have happened) ends the
//! run with `interrupted`.
//!
//! # Failing closed
//!
//! A response that does not answer the pending effect (wrong kind, missing, unasked for, of
//! the wrong shape, an element outside the frame the target names) ends the run with
//! `bad-response`; so does anything after which the caller or the log can no longer be
//! trusted (`audit-failed`, `limit-exceeded`): the step in flight is recorded as failed, and
//! no further step effect is issued, only the run's end.

mod audit_map;
mod driver;
mod effect;
mod error;
pub mod interp;
mod machine;
mod program;
mod value;

pub use audit_map::{AuditCursor, ChainSink, Clock};
pub use driver::{
    drive, perform, run_sync, Drivers, JobRunner, NoJobs, PageDriver, Pep, Resolution,
};
pub use driver::{Approver, AuditSink};
pub use effect::{
    read_step, ActResult, Action, Approval, ApprovalChoice, ApprovalRequest, AuditEvent, AuditKind,
    Effect, ElementLabel, ElementState, ErrorReport, FillValue, HandoffChoice, JobRequest,
    JobResult, JobSummary, NameMatch, Query, Response, RunOutcome, RunResult, ScopeSpec, StepAudit,
    StepRecord, StepResult, TargetBase, TargetSpec, WaitFor, JOB_PREVIEW_LINES, SECRET_MASK,
};
pub use error::RunError;
pub use machine::{Machine, MachineState, RunInputs, STATE_FORMAT};
pub use program::DEFAULT_WAIT_TIMEOUT_MS;
pub use value::{format_number, parse_number, Tainted, Value};

use serde::{Deserialize, Serialize};

/// Most effects one run may ask for: a safety net under the checker's bounds (a script at
/// [`bridle_dsl::limits::MAX_EXPANDED_STEPS`] needs about ten effects per step).
pub const MAX_EFFECTS_PER_RUN: u64 = 1_000_000;

/// Largest value a single observation or job output may be, as JSON bytes: the saved state
/// holds every variable, and extension storage is small.
pub const MAX_VALUE_BYTES: usize = 256 * 1024;

/// Most instructions run between two effects. Every loop iteration that does anything
/// emits an effect, so only an empty `for each` body runs effect-free, about two
/// instructions per item, at most [`bridle_dsl::limits::MAX_LOOP_BOUND`] items; the bound
/// only stops a damaged saved state from spinning.
pub const MAX_INSTRUCTIONS_PER_EFFECT: u64 = 100_000;

/// The engine's limits for one run; the defaults are the named constants. Exceeding one
/// ends the run with `limit-exceeded` naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineLimits {
    /// See [`MAX_EFFECTS_PER_RUN`].
    pub max_effects: u64,
    /// See [`MAX_VALUE_BYTES`]; applies to observations, job outputs and every string the
    /// script builds by interpolation (so a chain of `let`s cannot double a value into
    /// gigabytes).
    pub max_value_bytes: usize,
    /// See [`MAX_INSTRUCTIONS_PER_EFFECT`].
    pub max_instructions_per_effect: u64,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_effects: MAX_EFFECTS_PER_RUN,
            max_value_bytes: MAX_VALUE_BYTES,
            max_instructions_per_effect: MAX_INSTRUCTIONS_PER_EFFECT,
        }
    }
}
