//! The engine's protocol: the [`Effect`]s the machine asks its caller to perform, the
//! [`Response`]s it accepts back, and the records it produces (approval requests, audit
//! events, the run's result). Everything here is plain data with a stable JSON shape, because
//! the extension passes it between wasm and JavaScript and persists it across restarts.

use super::error::RunError;
use super::value::Value;
use crate::decision::{Amount, Decision, ElementFacts, Facts, Outcome, Reason};
use bridle_dsl::ast::SandboxTier;
use bridle_dsl::{Risk, Step, Verb};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The step a read inside `step` is decided as: the same step (index, line, text, target)
/// seen as a `let`, the language's read, with a read's low risk.
pub fn read_step(step: &Step) -> Step {
    Step {
        verb: Verb::Let,
        risk: Risk::Low,
        risk_reasons: Vec::new(),
        url_origin: None,
        secret: None,
        writes_observed: false,
        ..step.clone()
    }
}

/// How a name (or a tab's title or URL) is matched; the interpolated form of the language's
/// matchers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameMatch {
    /// Whitespace-normalised, case-sensitive equality.
    Exact(String),
    /// Case-insensitive containment.
    Contains(String),
    /// A regular expression over the name, with flags from `i`, `m`, `s`.
    Regex { pattern: String, flags: String },
}

impl fmt::Display for NameMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameMatch::Exact(s) => write!(f, "{s:?}"),
            NameMatch::Contains(s) => write!(f, "~{s:?}"),
            NameMatch::Regex { pattern, flags } => write!(f, "/{pattern}/{flags}"),
        }
    }
}

/// A target with every interpolation done: what the resolver looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub base: TargetBase,
    /// Containers, innermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ScopeSpec>,
    /// `in frame "<origin>"`: the element must be in a frame of this origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<String>,
    /// `nth N`, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
}

/// What a target names before scoping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TargetBase {
    /// An ARIA role (or `element`) and optionally its accessible name.
    Role {
        role: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<NameMatch>,
    },
    /// Any element whose visible text matches.
    Text { text: NameMatch },
    /// A CSS selector (lower trust).
    Css { selector: String },
}

/// A container of a target: `in dialog "Terms"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSpec {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<NameMatch>,
}

impl fmt::Display for TargetSpec {
    /// The target as a script writes it, for messages: `button "Buy" in dialog "Cart"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            TargetBase::Role { role, name } => {
                f.write_str(role)?;
                if let Some(name) = name {
                    write!(f, " {name}")?;
                }
            }
            TargetBase::Text { text } => write!(f, "text {text}")?,
            TargetBase::Css { selector } => write!(f, "css {selector:?}")?,
        }
        for scope in &self.scopes {
            write!(f, " in {}", scope.role)?;
            if let Some(name) = &scope.name {
                write!(f, " {name}")?;
            }
        }
        if let Some(frame) = &self.frame {
            write!(f, " in frame {frame:?}")?;
        }
        if let Some(nth) = self.nth {
            write!(f, " nth {nth}")?;
        }
        Ok(())
    }
}

/// Something the machine wants read from the page. Element reads carry the fingerprint of
/// the element that was resolved and decided, so the sensor reads that element and no other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Query {
    /// `text of T` → text.
    Text {
        target: TargetSpec,
        fingerprint: String,
    },
    /// `value of T` → text.
    Value {
        target: TargetSpec,
        fingerprint: String,
    },
    /// `attribute "name" of T` → text, or null when the attribute is absent.
    Attribute {
        name: String,
        target: TargetSpec,
        fingerprint: String,
    },
    /// `table T` → a list of records keyed by column header.
    Table {
        target: TargetSpec,
        fingerprint: String,
    },
    /// `count of T` → a whole number ≥ 0 (no resolution: a count names many elements).
    Count { target: TargetSpec },
    /// `exists T` → bool.
    Exists { target: TargetSpec },
    /// `visible T` → bool.
    Visible { target: TargetSpec },
    /// The page's full URL → text.
    Url,
    /// The page's title → text.
    Title,
}

/// The element states `wait for` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementState {
    Visible,
    Enabled,
    Hidden,
    Gone,
}

/// What a `wait` waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WaitFor {
    /// The element reaches the state.
    Element {
        target: TargetSpec,
        state: ElementState,
    },
    /// The page's URL matches the glob (see [`super::interp::glob_match`]).
    Url { glob: String },
    /// Network and DOM settled.
    Idle,
    /// A plain pause for `timeout_ms`; always succeeds.
    Pause,
}

/// The value typed by `fill`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FillValue {
    Text {
        text: String,
    },
    /// A secret from the user's vault: only its names travel; the actuator fetches the value
    /// itself, so it never passes through the machine, the audit log or the result.
    Secret {
        name: String,
        entry: String,
    },
}

/// The single primitive an authorised step performs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    Click,
    Fill {
        value: FillValue,
    },
    Clear,
    Select {
        option: String,
    },
    Check,
    Uncheck,
    Hover,
    Press {
        key: String,
    },
    ScrollTo,
    Submit,
    /// The user picks the file; a script never names a path.
    Upload,
    Navigate {
        url: String,
    },
    Back,
    Forward,
    Reload,
    OpenTab {
        url: String,
    },
    SwitchTab {
        matcher: NameMatch,
    },
    CloseTab,
}

/// What the actuator reports after acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActResult {
    pub ok: bool,
    /// Why it failed (the fingerprint changed, the element is covered …), when `ok` is false.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether the postcondition held: the page changed the way the action should change it.
    /// Actions whose effect cannot be seen (hover, scroll to an element already in view)
    /// report `true` once performed. `false` with `ok` fails the step with `no-effect`.
    pub effect_observed: bool,
}

impl ActResult {
    /// The action happened and had its effect.
    pub fn done() -> Self {
        ActResult {
            ok: true,
            error: None,
            effect_observed: true,
        }
    }
}

/// A job for the native host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    pub runtime: String,
    pub sandbox: Option<SandboxTier>,
    pub timeout_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    /// Passed to the job on standard input as JSON.
    pub input: Option<Value>,
    pub code: String,
}

/// What the host reports for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobResult {
    pub ok: bool,
    /// Standard output, the value of `let x = job …`.
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// The user's answer to an approval request: the audit log's own type, so what the user
/// chose and what is recorded can never drift apart. "Approve for this script" covers this
/// step, in this run, on this origin (see the machine); a timeout or a closed window counts
/// as a denial.
pub use crate::audit::ApprovalChoice;

/// How a step execution came to be approved, or why it was not, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    Once,
    Script,
    /// Covered by an earlier "approve for this script" of the same step and origin.
    Remembered,
    Deny,
    Timeout,
    Closed,
}

impl From<ApprovalChoice> for Approval {
    fn from(choice: ApprovalChoice) -> Self {
        match choice {
            ApprovalChoice::Once => Approval::Once,
            ApprovalChoice::Script => Approval::Script,
            ApprovalChoice::Deny => Approval::Deny,
            ApprovalChoice::Timeout => Approval::Timeout,
            ApprovalChoice::Closed => Approval::Closed,
        }
    }
}

/// The user's answer to a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandoffChoice {
    /// The user did their part; the script resumes.
    Continue,
    /// The user stopped the run (a closed or timed-out handoff counts as this).
    Abort,
}

/// The element as the approval dialog shows it: read from the page, never the planner's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementLabel {
    pub role: String,
    pub name: String,
}

/// Everything an approval dialog shows. Only page facts and the executor's own findings,
/// except `planner_goal`, which is the planner's claim and must be labelled as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub step: usize,
    pub verb: Verb,
    /// The step in canonical form.
    pub text: String,
    /// The origin the step acts on: the element's frame, else the destination or page URL's.
    pub origin: Option<String>,
    pub url: Option<String>,
    pub element: Option<ElementLabel>,
    /// Values to be typed or chosen (`fill`, `select`, `press`); a secret shows as
    /// [`SECRET_MASK`].
    pub values: Vec<String>,
    pub amount: Option<Amount>,
    pub risk: Risk,
    pub outcome: Outcome,
    pub reasons: Vec<Reason>,
    /// The text of `confirm` and `handoff`, interpolated.
    pub message: Option<String>,
    /// The script's `goal`: what the planner says it is doing. A claim, not a fact.
    pub planner_goal: String,
    /// For a `job` step: what will run, and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobSummary>,
}

/// How many lines of a job's code an approval shows.
pub const JOB_PREVIEW_LINES: usize = 12;

/// What an approval shows of a `job` step: the runtime, the sandbox tier and limits, the
/// code's digest and its first lines (the whole code is in the step's text and the script).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub runtime: String,
    /// `container` or `microvm` (the strongest when the script does not say).
    pub sandbox: String,
    pub timeout_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    /// `sha256:…` of the code.
    pub code_digest: String,
    /// At most [`JOB_PREVIEW_LINES`] lines.
    pub first_lines: Vec<String>,
    /// How many lines the code has.
    pub lines: usize,
}

impl JobSummary {
    pub fn of(
        runtime: &str,
        sandbox: Option<bridle_dsl::ast::SandboxTier>,
        timeout_ms: Option<u64>,
        memory_bytes: Option<u64>,
        code: &str,
    ) -> JobSummary {
        let tier = sandbox.unwrap_or(crate::decide::DEFAULT_JOB_SANDBOX);
        JobSummary {
            runtime: runtime.to_owned(),
            sandbox: crate::token::sandbox_word(tier).to_owned(),
            timeout_ms,
            memory_bytes,
            code_digest: crate::audit::ContentHash::of(code.as_bytes()).to_string(),
            first_lines: code
                .lines()
                .take(JOB_PREVIEW_LINES)
                .map(str::to_owned)
                .collect(),
            lines: code.lines().count(),
        }
    }
}

/// What a secret looks like wherever a person could see it.
pub const SECRET_MASK: &str = "••••";

/// How a step ended, as the audit log and the run's result record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub ok: bool,
    /// The error's code (`denied`, `no-effect` …) when not ok.
    #[serde(default)]
    pub error: Option<String>,
}

/// One audit write the engine asks for. The audit module turns it into a chained, signed
/// entry, adding the time; [`ChainSink`](super::ChainSink) maps each kind to the log's
/// entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Counts this run's audit events from 1, so a store can drop a write repeated after a
    /// restart.
    pub seq: u64,
    /// `sha256:<hex>` of the script's bytes.
    pub script_hash: String,
    pub jti: Option<String>,
    #[serde(flatten)]
    pub kind: AuditKind,
}

/// What an audit event records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum AuditKind {
    /// The run begins: the first effect of every run.
    RunStarted,
    /// A step passed its decision (and approval) and is about to do what it does: written
    /// before any act (write-ahead).
    Started(StepAudit),
    /// A step ended, well or not. A `completed` without a `started` is a step that never got
    /// past its gate: denied, not approved, its target not found …
    Completed(StepAudit),
    /// The run is over: the last effect before [`Effect::Done`].
    RunEnded {
        outcome: RunOutcome,
        /// The error's code when the run did not complete.
        error: Option<String>,
    },
}

/// A step execution as the audit log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepAudit {
    pub step: usize,
    pub line: usize,
    pub verb: Verb,
    /// The step in canonical form (a secret appears by its name only).
    pub text: String,
    /// The page URL, or the destination of `navigate`/`open tab`.
    pub url: Option<String>,
    /// The element acted on or read.
    pub element: Option<ElementFacts>,
    /// The strictest decision taken for the step so far.
    pub decision: Option<Decision>,
    pub approval: Option<Approval>,
    /// The primitive about to run (`started`) or that ran (`completed`).
    pub action: Option<Action>,
    /// Set on `completed`.
    pub result: Option<StepResult>,
    /// SHA-256 (hex) over what the step read from the page, chained over several reads.
    pub observation_hash: Option<String>,
}

/// One thing the caller must do for the machine; each but [`Effect::Done`] expects exactly
/// one [`Response`] of the kind named in its documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "kebab-case")]
pub enum Effect {
    /// Find exactly one element → `resolved` | `not-found` | `ambiguous`.
    Resolve { step: usize, target: TargetSpec },
    /// Read from the page → `value` (or `failed`).
    Observe { step: usize, query: Query },
    /// Find an amount shown on the page before a high-risk step → `amount`.
    ReadAmount { step: usize },
    /// Decide the step with these facts (the caller runs the PEP) → `decision`. With `read`,
    /// what is decided is reading `facts.element` inside the step (in a condition, in the
    /// value of `fill` …), not the step's own action: decide it on [`read_step`] of the step,
    /// so a never-read field is denied even inside a step that acts.
    Decide {
        step: usize,
        facts: Facts,
        #[serde(default)]
        read: bool,
    },
    /// Ask the user → `approval`.
    Approve {
        step: usize,
        request: Box<ApprovalRequest>,
    },
    /// Append to the audit log → `audit-written` | `audit-failed`.
    AuditWrite { event: Box<AuditEvent> },
    /// Perform the authorised primitive on the target, refusing when the element's
    /// fingerprint is no longer `expect_fingerprint` → `acted`.
    Act {
        step: usize,
        action: Action,
        target: Option<TargetSpec>,
        expect_fingerprint: Option<String>,
    },
    /// Wait, at most `timeout_ms` → `waited`.
    Wait {
        step: usize,
        what: WaitFor,
        timeout_ms: u64,
    },
    /// Show the user a note (and log it) → `noted`.
    Note { step: usize, text: String },
    /// Let the user act, then continue or abort → `handoff`.
    Handoff { step: usize, message: String },
    /// Run a job on the native host → `job-done`.
    Job { step: usize, job: Box<JobRequest> },
    /// The run is over; no response expected.
    Done(Box<RunResult>),
}

impl Effect {
    /// The effect's name as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::Resolve { .. } => "resolve",
            Effect::Observe { .. } => "observe",
            Effect::ReadAmount { .. } => "read-amount",
            Effect::Decide { .. } => "decide",
            Effect::Approve { .. } => "approve",
            Effect::AuditWrite { .. } => "audit-write",
            Effect::Act { .. } => "act",
            Effect::Wait { .. } => "wait",
            Effect::Note { .. } => "note",
            Effect::Handoff { .. } => "handoff",
            Effect::Job { .. } => "job",
            Effect::Done(_) => "done",
        }
    }

    /// The responses that answer this effect.
    pub fn expects(&self) -> &'static [&'static str] {
        match self {
            Effect::Resolve { .. } => &["resolved", "not-found", "ambiguous"],
            Effect::Observe { .. } => &["value", "failed"],
            Effect::ReadAmount { .. } => &["amount"],
            Effect::Decide { .. } => &["decision"],
            Effect::Approve { .. } => &["approval"],
            Effect::AuditWrite { .. } => &["audit-written", "audit-failed"],
            Effect::Act { .. } => &["acted"],
            Effect::Wait { .. } => &["waited"],
            Effect::Note { .. } => &["noted"],
            Effect::Handoff { .. } => &["handoff"],
            Effect::Job { .. } => &["job-done"],
            Effect::Done(_) => &[],
        }
    }
}

/// The caller's answer to an [`Effect`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub enum Response {
    Resolved {
        element: ElementFacts,
    },
    /// No element matched; `candidates` are near misses (role, name, position) for the error.
    NotFound {
        #[serde(default)]
        candidates: Vec<String>,
    },
    /// Several matched; `candidates` lists them (role, name, position).
    Ambiguous {
        candidates: Vec<String>,
    },
    Value {
        value: Value,
    },
    /// The page could not be read (the element went away …).
    Failed {
        message: String,
    },
    Amount {
        amount: Option<Amount>,
    },
    Decision {
        decision: Decision,
    },
    Approval {
        choice: ApprovalChoice,
    },
    AuditWritten,
    AuditFailed {
        message: String,
    },
    Acted {
        result: ActResult,
    },
    Waited {
        ok: bool,
    },
    Noted,
    Handoff {
        choice: HandoffChoice,
    },
    JobDone {
        result: JobResult,
    },
}

impl Response {
    /// The response's name as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Resolved { .. } => "resolved",
            Response::NotFound { .. } => "not-found",
            Response::Ambiguous { .. } => "ambiguous",
            Response::Value { .. } => "value",
            Response::Failed { .. } => "failed",
            Response::Amount { .. } => "amount",
            Response::Decision { .. } => "decision",
            Response::Approval { .. } => "approval",
            Response::AuditWritten => "audit-written",
            Response::AuditFailed { .. } => "audit-failed",
            Response::Acted { .. } => "acted",
            Response::Waited { .. } => "waited",
            Response::Noted => "noted",
            Response::Handoff { .. } => "handoff",
            Response::JobDone { .. } => "job-done",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// It reached `return` or the end of the script.
    Completed,
    /// A step failed (not found, no effect, assertion, a broken response …).
    Failed,
    /// The policy denied a step or the user did not approve it.
    Denied,
    /// The user aborted (a handoff, or the run was cancelled).
    Cancelled,
}

/// One execution of one step, as the run's result records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub index: usize,
    pub line: usize,
    pub verb: Verb,
    /// The strictest decision taken for this execution.
    pub decision: Option<Outcome>,
    pub reasons: Vec<String>,
    pub approval: Option<Approval>,
    pub ok: bool,
    /// The error's code when not ok.
    pub error: Option<String>,
}

/// A run's error as reported: its code and fields, plus the message and the hint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    #[serde(flatten)]
    pub error: RunError,
    pub message: String,
    pub help: Option<String>,
}

impl From<RunError> for ErrorReport {
    fn from(error: RunError) -> Self {
        ErrorReport {
            message: error.to_string(),
            help: error.help().map(str::to_owned),
            error,
        }
    }
}

/// The result of a run, returned to the planner (and by the extension's `run()`). JSON:
///
/// ```json
/// {
///   "outcome": "completed" | "failed" | "denied" | "cancelled",
///   "value": null,                       // what `return` gave (plain JSON), null otherwise
///   "error": null | {"code": "not-found", "step": 3, "target": "button \"Buy\"",
///                    "candidates": ["button \"Buy now\" #1"], "message": "…", "help": "…"},
///   "steps": [{"index": 1, "line": 4, "verb": "click", "decision": "allow",
///              "reasons": ["…"], "approval": null | "once" | "script" | "remembered" |
///              "deny" | "timeout" | "closed", "ok": true, "error": null}],
///   "warnings": ["…"],
///   "steps_done": 1
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub outcome: RunOutcome,
    pub value: Value,
    pub error: Option<ErrorReport>,
    /// Every step execution in order (a step in a loop appears once per iteration).
    pub steps: Vec<StepRecord>,
    /// Things worth knowing that did not fail the run (a loop cut at its bound …).
    pub warnings: Vec<String>,
    /// Step executions that completed.
    pub steps_done: u64,
}
