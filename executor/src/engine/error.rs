//! The engine's errors: each way a run can stop, distinct, typed and documented, with a
//! stable code (`not-found`, `denied` …) that the run's result and the audit log carry.

use super::effect::{ApprovalChoice, RunOutcome};
use serde::{Deserialize, Serialize};

/// Why a run stopped before its end. Serialised with its code as `"code"` and its fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "kebab-case")]
pub enum RunError {
    /// The policy enforcement point denied the step.
    #[error("step {step} was denied: {}", reasons.join("; "))]
    Denied { step: usize, reasons: Vec<String> },
    /// The step needed the user's approval and did not get it.
    #[error("step {step} was not approved (the user's answer: {choice})")]
    NotApproved { step: usize, choice: ApprovalChoice },
    /// The target matched no element.
    #[error("step {step}: no element matches `{target}`")]
    NotFound {
        step: usize,
        target: String,
        candidates: Vec<String>,
    },
    /// The target matched several elements.
    #[error("step {step}: `{target}` matches {} elements", candidates.len())]
    Ambiguous {
        step: usize,
        target: String,
        candidates: Vec<String>,
    },
    /// The action ran but its postcondition did not hold: the page did not change.
    #[error("step {step} had no effect on the page")]
    NoEffect { step: usize },
    /// An `assert` did not hold.
    #[error("step {step}: the assertion does not hold")]
    AssertFailed { step: usize },
    /// A `wait` ran out of time.
    #[error("step {step}: the wait timed out after {timeout_ms} ms")]
    WaitTimedOut { step: usize, timeout_ms: u64 },
    /// The actuator could not act (fingerprint changed, element covered …).
    #[error("step {step} could not act: {message}")]
    ActFailed { step: usize, message: String },
    /// The page could not be read.
    #[error("step {step} could not read the page: {message}")]
    ObserveFailed { step: usize, message: String },
    /// The native host reported a failed job.
    #[error("step {step}: the job failed: {message}")]
    JobFailed { step: usize, message: String },
    /// The audit log refused a write; nothing acts unrecorded, so the run stops.
    #[error("the audit log could not be written: {message}")]
    AuditFailed {
        step: Option<usize>,
        message: String,
    },
    /// The user aborted a handoff or cancelled the run.
    #[error("the run was cancelled")]
    Cancelled { step: Option<usize> },
    /// The run was resumed after a restart while an action or job was in flight; whether it
    /// happened is unknown, so the run stops rather than repeat it.
    #[error("step {step} was interrupted while it acted; it may or may not have happened")]
    Interrupted { step: usize },
    /// A value had the wrong type at run time (`for each` over text, `<` on words …).
    #[error("step {step}: {message}")]
    Type { step: usize, message: String },
    /// A response that does not answer the pending effect, or is inconsistent with it.
    #[error("bad response: expected {expected}, got {got}")]
    BadResponse { expected: String, got: String },
    /// A declared param without a default was not given.
    #[error("missing value for param `{name}`")]
    MissingParam { name: String },
    /// A param was given a value of the wrong type.
    #[error("param `{name}` must be {expected}, got {got}")]
    ParamType {
        name: String,
        expected: String,
        got: String,
    },
    /// A value was given for a param the script does not declare.
    #[error("unknown param `{name}`")]
    UnknownParam { name: String },
    /// A named engine limit was reached.
    #[error("the run exceeded the limit `{limit}` of {max}")]
    LimitExceeded { limit: String, max: u64 },
    /// The checked script's steps do not fit its tree (an internal inconsistency).
    #[error("the script cannot be run: {message}")]
    Program { message: String },
    /// A saved machine state that does not belong to this script or is damaged.
    #[error("the saved run cannot be resumed: {message}")]
    Resume { message: String },
    /// The run's tab went where the script may not go (a redirect, a page's own navigation,
    /// a tab it opened), so the run was stopped. `origin` is the destination's origin (or
    /// its scheme), never the whole URL, which may carry secrets of the page.
    #[error("the run was stopped: {what} to `{origin}`, {reason}")]
    NavigationBlocked {
        step: Option<usize>,
        what: String,
        origin: String,
        reason: String,
    },
}

impl RunError {
    /// The stable code, as in JSON.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::Denied { .. } => "denied",
            RunError::NotApproved { .. } => "not-approved",
            RunError::NotFound { .. } => "not-found",
            RunError::Ambiguous { .. } => "ambiguous",
            RunError::NoEffect { .. } => "no-effect",
            RunError::AssertFailed { .. } => "assert-failed",
            RunError::WaitTimedOut { .. } => "wait-timed-out",
            RunError::ActFailed { .. } => "act-failed",
            RunError::ObserveFailed { .. } => "observe-failed",
            RunError::JobFailed { .. } => "job-failed",
            RunError::AuditFailed { .. } => "audit-failed",
            RunError::Cancelled { .. } => "cancelled",
            RunError::Interrupted { .. } => "interrupted",
            RunError::Type { .. } => "type",
            RunError::BadResponse { .. } => "bad-response",
            RunError::MissingParam { .. } => "missing-param",
            RunError::ParamType { .. } => "param-type",
            RunError::UnknownParam { .. } => "unknown-param",
            RunError::LimitExceeded { .. } => "limit-exceeded",
            RunError::Program { .. } => "program",
            RunError::Resume { .. } => "resume",
            RunError::NavigationBlocked { .. } => "navigation-blocked",
        }
    }

    /// The step the error happened at, if any.
    pub fn step(&self) -> Option<usize> {
        match self {
            RunError::Denied { step, .. }
            | RunError::NotApproved { step, .. }
            | RunError::NotFound { step, .. }
            | RunError::Ambiguous { step, .. }
            | RunError::NoEffect { step }
            | RunError::AssertFailed { step }
            | RunError::WaitTimedOut { step, .. }
            | RunError::ActFailed { step, .. }
            | RunError::ObserveFailed { step, .. }
            | RunError::JobFailed { step, .. }
            | RunError::Interrupted { step }
            | RunError::Type { step, .. } => Some(*step),
            RunError::Cancelled { step }
            | RunError::AuditFailed { step, .. }
            | RunError::NavigationBlocked { step, .. } => *step,
            _ => None,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            RunError::Denied { .. } => {
                "the token or the local policy does not allow this step; ask the user to change the policy or get a token that grants it"
            }
            RunError::NotApproved { .. } => "the user declined; do not retry without asking them",
            RunError::NotFound { .. } => {
                "check the role and name against the candidates, or wait for the element first"
            }
            RunError::Ambiguous { .. } => {
                "narrow the target with `in <container>` or pick one with `nth N`"
            }
            RunError::NoEffect { .. } => {
                "the element may be disabled or covered; wait for it to be enabled and retry"
            }
            RunError::AssertFailed { .. } => "the page is not in the state the script expected",
            RunError::WaitTimedOut { .. } => "raise the timeout or wait for something else",
            RunError::ActFailed { .. } => "the page changed after the decision; resolve again",
            RunError::ObserveFailed { .. } => "the element may have gone; wait for it first",
            RunError::JobFailed { .. } => "read the job's error output",
            RunError::AuditFailed { .. } => "check the audit store; nothing acts unrecorded",
            RunError::Cancelled { .. } => return None,
            RunError::Interrupted { .. } => "check the page before running the rest again",
            RunError::Type { .. } => "convert or check the value before using it",
            RunError::BadResponse { .. } => {
                "answer each effect with one response of the kind it expects"
            }
            RunError::MissingParam { .. } => "give the param a value or a default",
            RunError::ParamType { .. } => "give a value of the declared type",
            RunError::UnknownParam { .. } => "give values only for declared params",
            RunError::LimitExceeded { .. } => "split the work into several runs",
            RunError::Program { .. } => "check the script again with the same version",
            RunError::Resume { .. } => "start the run again",
            RunError::NavigationBlocked { .. } => {
                "the page left the script's origins; add the origin to the script (and the token) only if the user wants it reached"
            }
        })
    }

    /// The outcome a run that stopped with this error has.
    pub fn outcome(&self) -> RunOutcome {
        match self {
            RunError::Denied { .. } | RunError::NotApproved { .. } => RunOutcome::Denied,
            RunError::Cancelled { .. } => RunOutcome::Cancelled,
            _ => RunOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_with_their_code() {
        let error = RunError::NotFound {
            step: 3,
            target: "button \"Buy\"".into(),
            candidates: vec!["button \"Buy now\" #1".into()],
        };
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "not-found");
        assert_eq!(json["code"], error.code());
        assert_eq!(json["step"], 3);
        assert_eq!(
            error.to_string(),
            "step 3: no element matches `button \"Buy\"`"
        );
        let back: RunError = serde_json::from_value(json).unwrap();
        assert_eq!(back, error);
    }

    #[test]
    fn messages_follow_the_style() {
        let errors = [
            RunError::Denied {
                step: 1,
                reasons: vec!["deny (token): no grant for `submit`".into()],
            },
            RunError::NotApproved {
                step: 2,
                choice: ApprovalChoice::Timeout,
            },
            RunError::NoEffect { step: 1 },
            RunError::MissingParam { name: "q".into() },
            RunError::LimitExceeded {
                limit: "max_effects".into(),
                max: 5,
            },
            RunError::NavigationBlocked {
                step: Some(2),
                what: "a server redirect".into(),
                origin: "https://evil.example".into(),
                reason: "which is not among the script's origins".into(),
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.ends_with('.'), "{message}");
            assert_eq!(message.chars().next().map(char::is_lowercase), Some(true));
        }
    }
}
