//! The synchronous driver: performs the machine's effects through traits, for native tests,
//! the CLI and any host that can answer synchronously. The extension drives the same
//! [`Machine`] asynchronously instead.

use super::effect::{
    read_step, ActResult, Action, ApprovalChoice, ApprovalRequest, AuditEvent, Effect,
    HandoffChoice, JobRequest, JobResult, Query, Response, RunResult, TargetSpec, WaitFor,
};
use super::machine::{Machine, RunInputs};
use super::value::Value;
use super::RunOutcome;
use crate::decision::{Amount, Decision, ElementFacts, Facts, Outcome, Reason, Source};
use bridle_dsl::{Checked, Risk, Step};

/// What resolving a target found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one rendered (and, for actions, enabled and hit-testable) element.
    Found(ElementFacts),
    /// None; the list holds near misses (role, name, position) to help the planner.
    NotFound(Vec<String>),
    /// Several, listed by role, name and position.
    Ambiguous(Vec<String>),
}

/// The page: target resolution, reads, actions and waits. In the extension this is the
/// resolver over the content script's snapshot plus the content script's actuator.
pub trait PageDriver {
    fn resolve(&mut self, step: usize, target: &TargetSpec) -> Resolution;
    /// Reads what `query` names; `Err` when the page cannot be read (the element went away).
    fn observe(&mut self, step: usize, query: &Query) -> Result<Value, String>;
    /// An amount (a total, a price) shown on the page, looked for before high-risk steps.
    fn read_amount(&mut self, step: usize) -> Option<Amount>;
    /// Performs one authorised primitive, refusing when the target's element no longer has
    /// `expect_fingerprint`.
    fn act(
        &mut self,
        step: usize,
        action: &Action,
        target: Option<&TargetSpec>,
        expect_fingerprint: Option<&str>,
    ) -> ActResult;
    /// Waits at most `timeout_ms`; whether the wait's condition was met.
    fn wait(&mut self, step: usize, what: &WaitFor, timeout_ms: u64) -> bool;
}

/// The person in the loop.
pub trait Approver {
    fn approve(&mut self, request: &ApprovalRequest) -> ApprovalChoice;
    /// Shows a `note`.
    fn note(&mut self, step: usize, text: &str);
    /// Shows a `handoff` and waits for the user to continue or abort.
    fn handoff(&mut self, step: usize, message: &str) -> HandoffChoice;
}

/// The policy enforcement point's decision function (token ∩ policy ∩ page facts).
pub trait Pep {
    fn decide(&self, step: &Step, facts: &Facts) -> Decision;
}

/// The audit log. `Err` means the event was not recorded; the step then does not act.
pub trait AuditSink {
    fn write(&mut self, event: &AuditEvent) -> Result<(), String>;
}

/// The native host's job runner.
pub trait JobRunner {
    fn run(&mut self, step: usize, job: &JobRequest) -> JobResult;
}

/// A job runner for hosts without a native host: every job fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJobs;

impl JobRunner for NoJobs {
    fn run(&mut self, _step: usize, _job: &JobRequest) -> JobResult {
        JobResult {
            ok: false,
            output: String::new(),
            error: Some("no native host is connected".to_owned()),
        }
    }
}

/// Everything outside the machine that a synchronous run talks to.
pub struct Drivers<'a> {
    pub page: &'a mut dyn PageDriver,
    pub approver: &'a mut dyn Approver,
    pub pep: &'a dyn Pep,
    pub audit: &'a mut dyn AuditSink,
    pub jobs: &'a mut dyn JobRunner,
}

impl std::fmt::Debug for Drivers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Drivers")
    }
}

/// Performs one effect; `None` for [`Effect::Done`], which needs no answer.
pub fn perform(steps: &[Step], effect: &Effect, d: &mut Drivers<'_>) -> Option<Response> {
    Some(match effect {
        Effect::Resolve { step, target } => match d.page.resolve(*step, target) {
            Resolution::Found(element) => Response::Resolved { element },
            Resolution::NotFound(candidates) => Response::NotFound { candidates },
            Resolution::Ambiguous(candidates) => Response::Ambiguous { candidates },
        },
        Effect::Observe { step, query } => match d.page.observe(*step, query) {
            Ok(value) => Response::Value { value },
            Err(message) => Response::Failed { message },
        },
        Effect::ReadAmount { step } => Response::Amount {
            amount: d.page.read_amount(*step),
        },
        Effect::Decide { step, facts, read } => Response::Decision {
            decision: match steps.get(step.wrapping_sub(1)) {
                Some(info) if *read => d.pep.decide(&read_step(info), facts),
                Some(info) => d.pep.decide(info, facts),
                // Fail closed: a step the script does not have is never allowed.
                None => Decision {
                    outcome: Outcome::Deny,
                    risk: Risk::High,
                    reasons: vec![Reason::new(
                        Source::Script,
                        Outcome::Deny,
                        format!("step {step} is not in the script"),
                    )],
                },
            },
        },
        Effect::Approve { request, .. } => Response::Approval {
            choice: d.approver.approve(request),
        },
        Effect::AuditWrite { event } => match d.audit.write(event) {
            Ok(()) => Response::AuditWritten,
            Err(message) => Response::AuditFailed { message },
        },
        Effect::Act {
            step,
            action,
            target,
            expect_fingerprint,
        } => Response::Acted {
            result: d.page.act(
                *step,
                action,
                target.as_ref(),
                expect_fingerprint.as_deref(),
            ),
        },
        Effect::Wait {
            step,
            what,
            timeout_ms,
        } => Response::Waited {
            ok: d.page.wait(*step, what, *timeout_ms),
        },
        Effect::Note { step, text } => {
            d.approver.note(*step, text);
            Response::Noted
        }
        Effect::Handoff { step, message } => Response::Handoff {
            choice: d.approver.handoff(*step, message),
        },
        Effect::Job { step, job } => Response::JobDone {
            result: d.jobs.run(*step, job),
        },
        Effect::Done(_) => return None,
    })
}

/// Drives a machine (new or resumed) to its end.
pub fn drive(machine: &mut Machine, d: &mut Drivers<'_>) -> RunResult {
    let mut effect = machine.recover();
    loop {
        if let Effect::Done(result) = effect {
            return *result;
        }
        let response = perform(machine.steps(), &effect, d);
        effect = machine.step(response);
    }
}

/// Runs a checked script to its end. Params that do not fit fail the run before anything
/// happens (nothing is audited: no step ran).
pub fn run_sync(checked: &Checked, inputs: RunInputs, d: &mut Drivers<'_>) -> RunResult {
    match Machine::new(checked, inputs) {
        Ok(mut machine) => drive(&mut machine, d),
        Err(error) => RunResult {
            outcome: RunOutcome::Failed,
            value: Value::Null,
            error: Some(error.into()),
            steps: Vec::new(),
            warnings: Vec::new(),
            steps_done: 0,
        },
    }
}
