//! The step machine: interprets a compiled script one [`Effect`] at a time. It does no IO;
//! the caller performs each effect and feeds back the [`Response`], so native tests, the CLI
//! and the extension (async JavaScript around wasm) all drive the same code.
//!
//! The machine's whole position is a [`MachineState`] (serde), saved after any effect and
//! resumed with [`Machine::resume`] after a service-worker restart.
//!
//! Responses are checked against the pending effect: a response of the wrong kind, a
//! response when none is expected, no response when one is, or a response inconsistent with
//! its effect (a value of the wrong type, an element outside the named frame) fails the run
//! with `bad-response`. The machine fails closed.

use super::effect::{
    ActResult, Action, Approval, ApprovalChoice, ApprovalRequest, AuditEvent, AuditKind, Effect,
    ElementLabel, ElementState, FillValue, HandoffChoice, JobRequest, NameMatch, Query, Response,
    RunOutcome, RunResult, ScopeSpec, StepAudit, StepRecord, StepResult, TargetBase, TargetSpec,
    WaitFor, SECRET_MASK,
};
use super::error::RunError;
use super::interp::{glob_match, interpolate, origin_of};
use super::program::{
    compile, ActKind, Gate, Instr, PageKind, Perform, PresenceKind, Program, ReadKind, SwitchKind,
    WaitKind,
};
use super::value::{Tainted, Value};
use super::EngineLimits;
use crate::decision::{Amount, Decision, ElementFacts, Facts, Outcome, Reason, Source};
use bridle_dsl::ast::{Matcher, ParamType, Target, VarPath, WaitState};
use bridle_dsl::{Checked, Risk, Step};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod exec;

/// Version of the saved state's shape; a state of another version is refused on resume.
pub const STATE_FORMAT: u32 = 1;

/// What a run needs besides the script.
#[derive(Debug, Clone, Default)]
pub struct RunInputs {
    /// Values of the script's params, checked against their declared types.
    pub params: BTreeMap<String, Value>,
    /// `sha256:<hex>` of the script's exact bytes, for the audit log.
    pub script_hash: String,
    /// The capability token's `jti`, for the audit log.
    pub jti: Option<String>,
    pub limits: EngineLimits,
}

/// The machine's saved position. Opaque on purpose: only [`Machine::resume`] reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineState {
    format: u32,
    /// SHA-256 over the compiled program and the checked steps: a state resumes only with
    /// the script (and the step risks) it was saved from.
    program_digest: String,
    script_hash: String,
    jti: Option<String>,
    limits: EngineLimits,
    pc: usize,
    phase: Phase,
    stack: Vec<Tainted>,
    env: BTreeMap<String, Tainted>,
    loops: BTreeMap<usize, LoopState>,
    ctx: Option<StepCtx>,
    /// Step → origins where the user chose "approve for this script".
    approved: BTreeMap<usize, BTreeSet<String>>,
    steps_done: u64,
    effects: u64,
    audit_seq: u64,
    records: Vec<StepRecord>,
    warnings: Vec<String>,
    pending: Option<Effect>,
    /// The run-start audit event was written.
    run_started: bool,
    /// A failed step's error, while its `completed` event is being written.
    failing: Option<RunError>,
    /// The result, while the run-end audit event is being written.
    ending: Option<RunResult>,
    finished: Option<RunResult>,
}

/// Where the current instruction is between its effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Ready,
    RunStart,
    RunEnd,
    Url,
    Resolve,
    Amount,
    Decide,
    Approve,
    AuditStart,
    Observe,
    Act,
    Wait,
    Note,
    Handoff,
    Job,
    AuditEnd,
    FailAudit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum LoopState {
    Repeat {
        count: u64,
    },
    ForEach {
        items: Vec<Value>,
        origins: BTreeSet<String>,
        next: usize,
    },
}

/// What the machine knows about the step execution in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct StepCtx {
    step: usize,
    page_url: Option<String>,
    dest_url: Option<String>,
    target: Option<TargetSpec>,
    element: Option<ElementFacts>,
    amount: Option<Amount>,
    /// The page was asked for an amount in this step.
    amount_read: bool,
    read_origins: Vec<String>,
    /// The strictest decision taken so far in this execution.
    decision: Option<Decision>,
    approval: Option<Approval>,
    action: Option<Action>,
    observation_hash: Option<String>,
    /// An element read in progress, and the last element read.
    read: Option<ReadCtx>,
    last_read: Option<ElementFacts>,
    /// Origins of a job's input, inherited by its output.
    job_origins: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ReadCtx {
    target: TargetSpec,
    attribute: Option<String>,
    element: Option<ElementFacts>,
}

/// What an instruction did.
enum Flow {
    Emit(Box<Effect>, Phase),
    Next,
    Goto(usize),
    Finish(Value),
}

/// The engine's state machine for one run of one checked script.
#[derive(Debug, Clone)]
pub struct Machine {
    program: Arc<Program>,
    steps: Vec<Step>,
    goal: String,
    state: MachineState,
}

impl Machine {
    /// Prepares a run: compiles the script and checks the params (every declared param needs
    /// a value or a default, of its declared type; undeclared ones are refused).
    pub fn new(checked: &Checked, inputs: RunInputs) -> Result<Machine, RunError> {
        let program = compile(checked)?;
        let env = bind_params(checked, inputs.params)?;
        let program_digest = digest(&program, &checked.steps)?;
        Ok(Machine {
            program: Arc::new(program),
            steps: checked.steps.clone(),
            goal: checked.goal.clone(),
            state: MachineState {
                format: STATE_FORMAT,
                program_digest,
                script_hash: inputs.script_hash,
                jti: inputs.jti,
                limits: inputs.limits,
                pc: 0,
                phase: Phase::Ready,
                stack: Vec::new(),
                env,
                loops: BTreeMap::new(),
                ctx: None,
                approved: BTreeMap::new(),
                steps_done: 0,
                effects: 0,
                audit_seq: 0,
                records: Vec::new(),
                warnings: Vec::new(),
                pending: None,
                run_started: false,
                failing: None,
                ending: None,
                finished: None,
            },
        })
    }

    /// Continues a run from a saved state, for example after a service-worker restart.
    /// Call [`Machine::recover`] next to get the effect to perform.
    pub fn resume(checked: &Checked, state: MachineState) -> Result<Machine, RunError> {
        let program = compile(checked)?;
        let resume_error = |message: &str| RunError::Resume {
            message: message.to_owned(),
        };
        if state.format != STATE_FORMAT {
            return Err(resume_error(
                "it was saved by another version of the engine",
            ));
        }
        if state.program_digest != digest(&program, &checked.steps)? {
            return Err(resume_error("it belongs to another script"));
        }
        if state.pc > program.instrs.len() {
            return Err(resume_error("its position is outside the script"));
        }
        let waiting = state.phase != Phase::Ready;
        if state.finished.is_none() && waiting != state.pending.is_some() {
            return Err(resume_error(
                "its pending effect does not match its position",
            ));
        }
        Ok(Machine {
            program: Arc::new(program),
            steps: checked.steps.clone(),
            goal: checked.goal.clone(),
            state,
        })
    }

    /// The state to save; [`Machine::resume`] takes it back.
    pub fn state(&self) -> &MachineState {
        &self.state
    }

    /// The checked script's steps, by index − 1 (what the PEP decides on).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The effect waiting for its response, if any.
    pub fn pending(&self) -> Option<&Effect> {
        self.state.pending.as_ref()
    }

    /// The step executions recorded so far (until the run ends, when they move into its
    /// result), for progress reports.
    pub fn records(&self) -> &[StepRecord] {
        &self.state.records
    }

    /// The run's result once it is over.
    pub fn result(&self) -> Option<&RunResult> {
        self.state.finished.as_ref()
    }

    /// Advances the run: `response` answers the pending effect (`None` to start). Returns
    /// the next effect to perform, or [`Effect::Done`] once the run is over (again on every
    /// later call).
    pub fn step(&mut self, response: Option<Response>) -> Effect {
        if let Some(result) = &self.state.finished {
            return Effect::Done(Box::new(result.clone()));
        }
        let mismatch = match (&self.state.pending, &response) {
            (Some(pending), None) => Some((pending.expects().join(" or "), "no response")),
            (None, Some(r)) => Some(("no response".to_owned(), r.kind())),
            (Some(pending), Some(r)) if !pending.expects().contains(&r.kind()) => {
                Some((pending.expects().join(" or "), r.kind()))
            }
            _ => None,
        };
        if let Some((expected, got)) = mismatch {
            let error = RunError::BadResponse {
                expected,
                got: got.to_owned(),
            };
            if self.state.ending.is_some() {
                self.state.warnings.push(error.to_string());
                return self.ended();
            }
            return self.fail(error);
        }
        self.state.pending = None;
        match self.state.phase {
            Phase::RunEnd => {
                if let Some(Response::AuditFailed { message }) = response {
                    self.add_warning(format!(
                        "the audit log could not record the end of the run: {message}"
                    ));
                }
                return self.ended();
            }
            Phase::FailAudit => return self.failure_recorded(response),
            Phase::RunStart => match response {
                Some(Response::AuditFailed { message }) => {
                    return self.fail(RunError::AuditFailed {
                        step: None,
                        message,
                    })
                }
                _ => {
                    self.state.run_started = true;
                    self.state.phase = Phase::Ready;
                    return self.advance(None);
                }
            },
            _ => {}
        }
        if !self.state.run_started {
            let event = self.audit(AuditKind::RunStarted);
            return self.emit(
                Effect::AuditWrite {
                    event: Box::new(event),
                },
                Phase::RunStart,
            );
        }
        self.advance(response)
    }

    /// Runs instructions until one needs the caller.
    fn advance(&mut self, mut response: Option<Response>) -> Effect {
        let max = self.state.limits.max_instructions_per_effect;
        let mut budget = max;
        loop {
            match self.exec(response.take()) {
                Ok(Flow::Emit(effect, phase)) => return self.emit(*effect, phase),
                Ok(Flow::Next) => {
                    self.state.pc += 1;
                    self.state.phase = Phase::Ready;
                }
                Ok(Flow::Goto(to)) => {
                    self.state.pc = to;
                    self.state.phase = Phase::Ready;
                }
                Ok(Flow::Finish(value)) => return self.finish(Ok(value)),
                Err(error) => return self.fail(error),
            }
            budget = budget.saturating_sub(1);
            if budget == 0 {
                return self.fail(RunError::LimitExceeded {
                    limit: "max_instructions_per_effect".to_owned(),
                    max,
                });
            }
        }
    }

    /// The effect to perform after [`Machine::resume`]. A pending read, decision, approval,
    /// wait, note, handoff or audit write is issued again (an audit store drops a repeated
    /// `seq`). A pending act or job may or may not have happened before the restart, so the
    /// run ends with `interrupted` (recorded in the audit log) rather than do it twice.
    pub fn recover(&mut self) -> Effect {
        if let Some(result) = &self.state.finished {
            return Effect::Done(Box::new(result.clone()));
        }
        match &self.state.pending {
            Some(Effect::Act { step, .. } | Effect::Job { step, .. }) => {
                let step = *step;
                self.state.pending = None;
                self.fail(RunError::Interrupted { step })
            }
            Some(effect) => effect.clone(),
            None => self.step(None),
        }
    }

    /// Stops the run at the user's request, recording the step in progress as cancelled. An
    /// act or job in flight may still happen, so that step ends as `interrupted` instead.
    pub fn cancel(&mut self) -> Effect {
        if let Some(result) = &self.state.finished {
            return Effect::Done(Box::new(result.clone()));
        }
        if let Some(Effect::Act { step, .. } | Effect::Job { step, .. }) = self.state.pending {
            self.state.pending = None;
            return self.fail(RunError::Interrupted { step });
        }
        self.state.pending = None;
        if self.state.ending.is_some() {
            return self.ended();
        }
        if self.state.failing.is_some() {
            return self.failure_recorded(None);
        }
        let step = self.state.ctx.as_ref().map(|c| c.step);
        self.fail(RunError::Cancelled { step })
    }

    /// Stops the run because something outside the script happened that forbids going on
    /// (the extension's navigation guard: the tab left the script's origins). `error` is
    /// what the run ends with; `step` inside it is filled in with the step in progress. The
    /// pending effect is dropped unperformed, so call this only between effects: a step that
    /// was started (written ahead) gets a failed result, one that was not gets no entry, and
    /// the run-end records the error. Unlike [`Machine::cancel`], a pending act is known not
    /// to have been sent, so it is not `interrupted`.
    pub fn abort(&mut self, mut error: RunError) -> Effect {
        if let Some(result) = &self.state.finished {
            return Effect::Done(Box::new(result.clone()));
        }
        // A run already ending keeps its own error; its pending audit write still happens.
        if self.state.ending.is_some() || self.state.failing.is_some() {
            return match &self.state.pending {
                Some(effect) => effect.clone(),
                None if self.state.ending.is_some() => self.ended(),
                None => self.failure_recorded(None),
            };
        }
        self.state.pending = None;
        if let RunError::NavigationBlocked { step, .. } = &mut error {
            *step = self.state.ctx.as_ref().map(|c| c.step);
        }
        self.fail(error)
    }

    // ---- the run loop's plumbing ----

    fn emit(&mut self, effect: Effect, phase: Phase) -> Effect {
        self.state.effects += 1;
        if self.state.effects > self.state.limits.max_effects {
            return self.fail(RunError::LimitExceeded {
                limit: "max_effects".to_owned(),
                max: self.state.limits.max_effects,
            });
        }
        self.emit_always(effect, phase)
    }

    /// Emits without the effect limit: the audit writes that record a failure and the end of
    /// a run are never refused for it.
    fn emit_always(&mut self, effect: Effect, phase: Phase) -> Effect {
        self.state.phase = phase;
        self.state.pending = Some(effect.clone());
        effect
    }

    fn add_warning(&mut self, warning: String) {
        match self.state.ending.as_mut() {
            Some(result) => result.warnings.push(warning),
            None => self.state.warnings.push(warning),
        }
    }

    /// Ends the step in progress with `error`: its `completed` audit event is written (when
    /// the log and the caller can still be trusted), then the run ends.
    fn fail(&mut self, error: RunError) -> Effect {
        let trust_lost = matches!(
            error,
            RunError::BadResponse { .. }
                | RunError::AuditFailed { .. }
                | RunError::LimitExceeded { .. }
                | RunError::Program { .. }
                | RunError::Resume { .. }
        );
        if self.state.ctx.is_none() {
            return self.finish(Err(error));
        }
        self.record(false, Some(error.code()));
        let result = StepResult {
            ok: false,
            error: Some(error.code().to_owned()),
        };
        let step = self.step_audit(Some(result));
        self.state.ctx = None;
        match step {
            Ok(step) if !trust_lost => {
                let event = self.audit(AuditKind::Completed(step));
                self.state.failing = Some(error);
                self.emit_always(
                    Effect::AuditWrite {
                        event: Box::new(event),
                    },
                    Phase::FailAudit,
                )
            }
            _ => self.finish(Err(error)),
        }
    }

    /// The audit write of a failed step came back; the run ends with the step's error.
    fn failure_recorded(&mut self, response: Option<Response>) -> Effect {
        if let Some(Response::AuditFailed { message }) = response {
            self.state.warnings.push(format!(
                "the audit log could not record the failure: {message}"
            ));
        }
        let error = self
            .state
            .failing
            .take()
            .unwrap_or(RunError::Cancelled { step: None });
        self.finish(Err(error))
    }

    /// The run is over: builds its result and writes the run-end audit event (only once the
    /// run-start one was written). A failing audit log cannot record the end; the result
    /// says so in a warning.
    fn finish(&mut self, outcome: Result<Value, RunError>) -> Effect {
        let (outcome, value, error) = match outcome {
            Ok(value) => (RunOutcome::Completed, value, None),
            Err(error) => (error.outcome(), Value::Null, Some(error)),
        };
        let code = error.as_ref().map(|e| e.code().to_owned());
        let audit_works = !matches!(error, Some(RunError::AuditFailed { .. }));
        let result = RunResult {
            outcome,
            value,
            error: error.map(Into::into),
            steps: std::mem::take(&mut self.state.records),
            warnings: std::mem::take(&mut self.state.warnings),
            steps_done: self.state.steps_done,
        };
        self.state.stack.clear();
        self.state.env.clear();
        self.state.loops.clear();
        self.state.ctx = None;
        self.state.failing = None;
        self.state.ending = Some(result);
        if !(self.state.run_started && audit_works) {
            return self.ended();
        }
        let event = self.audit(AuditKind::RunEnded {
            outcome,
            error: code,
        });
        self.emit_always(
            Effect::AuditWrite {
                event: Box::new(event),
            },
            Phase::RunEnd,
        )
    }

    fn ended(&mut self) -> Effect {
        let result = self.state.ending.take().unwrap_or_else(|| RunResult {
            outcome: RunOutcome::Failed,
            value: Value::Null,
            error: None,
            steps: Vec::new(),
            warnings: Vec::new(),
            steps_done: self.state.steps_done,
        });
        self.state.pending = None;
        self.state.phase = Phase::Ready;
        self.state.finished = Some(result.clone());
        Effect::Done(Box::new(result))
    }

    /// Records the step in progress in the run's result.
    fn record(&mut self, ok: bool, error: Option<&str>) {
        let Some(ctx) = &self.state.ctx else { return };
        let Some(step) = self.steps.get(ctx.step.wrapping_sub(1)) else {
            return;
        };
        self.state.records.push(StepRecord {
            index: ctx.step,
            line: step.line,
            verb: step.verb,
            decision: ctx.decision.as_ref().map(|d| d.outcome),
            reasons: ctx
                .decision
                .as_ref()
                .map(Decision::reason_texts)
                .unwrap_or_default(),
            approval: ctx.approval,
            ok,
            error: error.map(str::to_owned),
        });
    }

    fn audit(&mut self, kind: AuditKind) -> AuditEvent {
        self.state.audit_seq += 1;
        AuditEvent {
            seq: self.state.audit_seq,
            script_hash: self.state.script_hash.clone(),
            jti: self.state.jti.clone(),
            kind,
        }
    }

    fn step_audit(&self, result: Option<StepResult>) -> Result<StepAudit, RunError> {
        let ctx = self.ctx()?.clone();
        let step = self.step_info(ctx.step)?;
        Ok(StepAudit {
            step: ctx.step,
            line: step.line,
            verb: step.verb,
            text: step.text.clone(),
            url: ctx.dest_url.or(ctx.page_url),
            element: ctx.element.or(ctx.last_read),
            decision: ctx.decision,
            approval: ctx.approval,
            action: ctx.action,
            result,
            observation_hash: ctx.observation_hash,
        })
    }

    // ---- accessors ----

    fn ctx(&self) -> Result<&StepCtx, RunError> {
        self.state
            .ctx
            .as_ref()
            .ok_or_else(|| internal("an instruction ran outside a step"))
    }

    fn ctx_mut(&mut self) -> Result<&mut StepCtx, RunError> {
        self.state
            .ctx
            .as_mut()
            .ok_or_else(|| internal("an instruction ran outside a step"))
    }

    fn step_info(&self, index: usize) -> Result<&Step, RunError> {
        self.steps
            .get(index.wrapping_sub(1))
            .ok_or_else(|| internal("a step index is out of range"))
    }

    fn current_step(&self) -> Result<usize, RunError> {
        Ok(self.ctx()?.step)
    }

    fn pop(&mut self) -> Result<Tainted, RunError> {
        self.state
            .stack
            .pop()
            .ok_or_else(|| internal("the value stack is empty"))
    }

    fn pop_bool(&mut self) -> Result<bool, RunError> {
        match self.pop()?.value {
            Value::Bool(b) => Ok(b),
            other => Err(internal(&format!(
                "a condition gave {} instead of a bool",
                other.type_name()
            ))),
        }
    }

    fn push(&mut self, value: Tainted) {
        self.state.stack.push(value);
    }

    fn top_text(&self, depth: usize) -> Result<String, RunError> {
        let len = self.state.stack.len();
        len.checked_sub(depth + 1)
            .and_then(|i| self.state.stack.get(i))
            .map(|t| t.value.to_text())
            .ok_or_else(|| internal("the value stack is too short"))
    }

    fn lookup(&self, path: &VarPath) -> Result<Tainted, RunError> {
        let step = self.state.ctx.as_ref().map_or(0, |c| c.step);
        let name = &path.name.node;
        let mut value = self
            .state
            .env
            .get(name)
            .cloned()
            .ok_or_else(|| RunError::Type {
                step,
                message: format!("variable `{name}` has no value here"),
            })?;
        for field in &path.fields {
            let inner = match &value.value {
                Value::Record(fields) => fields.get(&field.node).cloned(),
                _ => None,
            };
            value.value = inner.ok_or_else(|| RunError::Type {
                step,
                message: format!("`{name}` has no field `{}`", field.node),
            })?;
        }
        Ok(value)
    }

    /// Interpolates within the value size limit.
    fn interpolate(
        &self,
        parts: &[bridle_dsl::ast::StrPart],
        url_encode: bool,
    ) -> Result<Tainted, RunError> {
        let max = self.state.limits.max_value_bytes;
        interpolate(parts, url_encode, max, |p| self.lookup(p), || too_big(max))
    }

    fn text_of(&self, parts: &[bridle_dsl::ast::StrPart]) -> Result<String, RunError> {
        Ok(self.interpolate(parts, false)?.value.to_text())
    }

    fn matcher(&self, matcher: &Matcher) -> Result<NameMatch, RunError> {
        Ok(match matcher {
            Matcher::Exact(s) => NameMatch::Exact(self.text_of(&s.parts)?),
            Matcher::Contains(s) => NameMatch::Contains(self.text_of(&s.parts)?),
            Matcher::Regex(r) => NameMatch::Regex {
                pattern: r.pattern.clone(),
                flags: r.flags.clone(),
            },
        })
    }

    /// The target with its names interpolated.
    fn target_spec(&self, target: &Target) -> Result<TargetSpec, RunError> {
        let base = match &target.base {
            bridle_dsl::ast::TargetBase::Role { role, name } => TargetBase::Role {
                role: role.node.clone(),
                name: name.as_ref().map(|m| self.matcher(m)).transpose()?,
            },
            bridle_dsl::ast::TargetBase::Text(m) => TargetBase::Text {
                text: self.matcher(m)?,
            },
            bridle_dsl::ast::TargetBase::Css(selector) => TargetBase::Css {
                selector: selector.node.clone(),
            },
        };
        let scopes = target
            .scopes
            .iter()
            .map(|s| {
                Ok(ScopeSpec {
                    role: s.role.node.clone(),
                    name: s.name.as_ref().map(|m| self.matcher(m)).transpose()?,
                })
            })
            .collect::<Result<_, RunError>>()?;
        Ok(TargetSpec {
            base,
            scopes,
            frame: target.frame.as_ref().map(|f| f.node.clone()),
            nth: target.nth.as_ref().map(|n| n.node),
        })
    }

    fn facts(&self, element: Option<ElementFacts>) -> Result<Facts, RunError> {
        let ctx = self.ctx()?;
        Ok(Facts {
            url: ctx.dest_url.clone().or_else(|| ctx.page_url.clone()),
            element,
            amount: ctx.amount.clone(),
            read_origins: ctx.read_origins.clone(),
            steps_done: self.state.steps_done,
        })
    }

    /// Chains a value read from the page into the step's observation hash.
    fn observed(&mut self, value: &Value) -> Result<(), RunError> {
        let json = serde_json::to_string(value).map_err(|e| internal(&e.to_string()))?;
        let ctx = self.ctx_mut()?;
        let mut hasher = Sha256::new();
        hasher.update(ctx.observation_hash.as_deref().unwrap_or("").as_bytes());
        hasher.update(json.as_bytes());
        ctx.observation_hash = Some(hex::encode(hasher.finalize()));
        Ok(())
    }

    fn check_size(&self, value: &Value) -> Result<(), RunError> {
        let max = self.state.limits.max_value_bytes;
        if value.json_len() > max {
            return Err(too_big(max));
        }
        Ok(())
    }
}

/// Binds the params: given values (type-checked) over defaults; every declared param must
/// end with a value.
fn bind_params(
    checked: &Checked,
    mut given: BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Tainted>, RunError> {
    let mut env = BTreeMap::new();
    for decl in &checked.params {
        let value = match given.remove(&decl.name) {
            Some(value) => value,
            None => match &decl.default {
                Some(default) => literal(default).ok_or_else(|| RunError::Program {
                    message: format!("the default of param `{}` is not a literal", decl.name),
                })?,
                None => {
                    return Err(RunError::MissingParam {
                        name: decl.name.clone(),
                    })
                }
            },
        };
        let fits = matches!(
            (decl.ty, &value),
            (ParamType::Text, Value::Text(_))
                | (ParamType::Bool, Value::Bool(_))
                | (ParamType::Number, Value::Number(_))
        ) && !matches!(value, Value::Number(n) if !n.is_finite());
        if !fits {
            return Err(RunError::ParamType {
                name: decl.name.clone(),
                expected: match decl.ty {
                    ParamType::Text => "text",
                    ParamType::Number => "a number",
                    ParamType::Bool => "a bool",
                }
                .to_owned(),
                got: value.type_name().to_owned(),
            });
        }
        env.insert(decl.name.clone(), Tainted::clean(value));
    }
    if let Some(name) = given.into_keys().next() {
        return Err(RunError::UnknownParam { name });
    }
    Ok(env)
}

fn literal(expr: &bridle_dsl::ast::Expr) -> Option<Value> {
    match expr {
        bridle_dsl::ast::Expr::Str(s) => s.as_literal().map(Value::Text),
        bridle_dsl::ast::Expr::Number(n) => Some(Value::Number(n.node)),
        bridle_dsl::ast::Expr::Bool(b) => Some(Value::Bool(b.node)),
        _ => None,
    }
}

fn digest(program: &Program, steps: &[Step]) -> Result<String, RunError> {
    let mut hasher = Sha256::new();
    let bytes = serde_json::to_vec(&(program, steps)).map_err(|e| RunError::Program {
        message: e.to_string(),
    })?;
    hasher.update(&bytes);
    Ok(hex::encode(hasher.finalize()))
}

fn internal(message: &str) -> RunError {
    RunError::Program {
        message: message.to_owned(),
    }
}

fn too_big(max: usize) -> RunError {
    RunError::LimitExceeded {
        limit: "max_value_bytes".to_owned(),
        max: max as u64,
    }
}
