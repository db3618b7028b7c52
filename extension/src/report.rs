//! What the extension hands back to JavaScript, as serde types: the policy report of
//! `setPolicy`, the script report, and the result of `run`, whose plan preview is
//! `bridle_executor::preview`, the very code `bridle authorize` prints.
//!
//! `run`'s result keeps the engine's result shape (`outcome`, `value`, `error`, `steps`,
//! `warnings`, `steps_done`; see `bridle_executor::engine::RunResult`) and adds `script`,
//! `token`, `goal` and `plan`. An executed run (`crate::session`) has the engine's outcome;
//! [`crate::Instance::run`] only previews the plan (`not-executed`), and a refused script or
//! token is `refused`.

use bridle_dsl::diag::LineIndex;
use bridle_dsl::{CheckOptions, Checked};
use bridle_executor::audit::Completion;
use bridle_executor::engine::{RunError, StepRecord};
use bridle_executor::policy::PolicyError;
use bridle_executor::preview::{plan, verify_token, PlannedStep, TokenReport};
use bridle_executor::replay::ReplayStore;
use bridle_executor::time::OffsetDateTime;
use bridle_executor::token::VerifiedToken;
use bridle_executor::Policy;
use serde::Serialize;

/// The file name diagnostics and rendered policy errors show.
pub const POLICY_FILE_NAME: &str = "policy.toml";
pub const SCRIPT_FILE_NAME: &str = "script.bridle";

/// The error code and message of every run this version cannot execute.
pub const NOT_EXECUTED_CODE: &str = "not-executed";
pub const NOT_EXECUTED_MESSAGE: &str = "not executed: the plan was only previewed";

/// `setPolicy`'s answer: accepted, or every problem found with its line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReport {
    pub ok: bool,
    /// Every problem rendered for people (`policy.toml:3:1: error: …`), empty when ok.
    pub message: String,
    pub diagnostics: Vec<PolicyDiagnostic>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDiagnostic {
    pub line: usize,
    pub column: usize,
    /// The key path, as in `site[1].allow[2]`; empty for the whole file.
    pub path: String,
    pub message: String,
    pub help: Option<String>,
}

impl PolicyReport {
    pub fn accepted() -> Self {
        PolicyReport {
            ok: true,
            message: String::new(),
            diagnostics: Vec::new(),
        }
    }

    /// Refused for a reason that is not about a place in the file.
    pub fn refused(message: String) -> Self {
        PolicyReport {
            ok: false,
            message,
            diagnostics: Vec::new(),
        }
    }
}

pub fn policy_errors(errors: &[PolicyError], src: &str) -> PolicyReport {
    PolicyReport {
        ok: false,
        message: errors
            .iter()
            .map(|e| e.render(POLICY_FILE_NAME, src))
            .collect::<Vec<_>>()
            .join("\n"),
        diagnostics: errors
            .iter()
            .map(|e| PolicyDiagnostic {
                line: e.line,
                column: e.column,
                path: e.path.clone(),
                message: e.message(),
                help: e.help.clone(),
            })
            .collect(),
    }
}

/// The policy was valid, but its change could not be written to the audit log, so it was
/// not made.
pub fn policy_not_recorded(error: &dyn std::fmt::Display) -> PolicyReport {
    PolicyReport {
        ok: false,
        message: format!("the policy was not changed: the audit log refused the change: {error}"),
        diagnostics: Vec::new(),
    }
}

/// A script's check: its diagnostics (the JSON shape planners read) or its goal and steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScriptReport {
    pub ok: bool,
    pub diagnostics: Vec<serde_json::Value>,
    /// The script's goal: the planner's claim, never a fact.
    pub goal: Option<String>,
    pub steps: usize,
}

pub fn check_script(script: &[u8], policy: &Policy) -> ScriptReport {
    match bridle_dsl::check_bytes(script, &check_options(policy)) {
        Ok(checked) => script_checked(&checked),
        Err(diags) => script_refused(&diags, script),
    }
}

fn check_options(policy: &Policy) -> CheckOptions {
    CheckOptions {
        risk: policy.risk_options(),
    }
}

fn script_checked(checked: &Checked) -> ScriptReport {
    ScriptReport {
        ok: true,
        diagnostics: Vec::new(),
        goal: Some(checked.goal.clone()),
        steps: checked.steps.len(),
    }
}

fn script_refused(diags: &[bridle_dsl::Diagnostic], script: &[u8]) -> ScriptReport {
    ScriptReport {
        ok: false,
        diagnostics: diagnostics_json(diags, script),
        goal: None,
        steps: 0,
    }
}

fn diagnostics_json(diags: &[bridle_dsl::Diagnostic], script: &[u8]) -> Vec<serde_json::Value> {
    let src = String::from_utf8_lossy(script);
    let index = LineIndex::new(&src);
    diags
        .iter()
        // A diagnostic is strings and numbers; should one ever fail to serialise, a null
        // keeps the count right and the run is refused anyway.
        .map(|d| serde_json::to_value(d.to_json(SCRIPT_FILE_NAME, &index)).unwrap_or_default())
        .collect()
}

/// A run's error: a stable code, the message and the fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    /// For `not-found` and `ambiguous`: the elements the page offered, one line each, so
    /// the planner can narrow its target. Empty otherwise.
    pub candidates: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    /// The script and token were accepted and every step decided, but no step was executed:
    /// the plan was only previewed (`Instance::run`).
    NotExecuted,
    /// The script does not check, the token does not verify, or the run could not be written
    /// to the audit log.
    Refused,
    /// The run was executed: the engine's outcomes (`bridle_executor::engine::RunOutcome`).
    Completed,
    Failed,
    Denied,
    Cancelled,
}

impl From<bridle_executor::engine::RunOutcome> for RunOutcome {
    fn from(outcome: bridle_executor::engine::RunOutcome) -> Self {
        use bridle_executor::engine::RunOutcome as Engine;
        match outcome {
            Engine::Completed => RunOutcome::Completed,
            Engine::Failed => RunOutcome::Failed,
            Engine::Denied => RunOutcome::Denied,
            Engine::Cancelled => RunOutcome::Cancelled,
        }
    }
}

/// The result of `run`. See the module documentation for how it relates to the engine's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    pub outcome: RunOutcome,
    /// What `return` gave; always null while no step runs.
    pub value: serde_json::Value,
    pub error: Option<ErrorReport>,
    pub script: ScriptReport,
    pub token: TokenReport,
    /// The planner's claim of what the script is for.
    pub goal: Option<String>,
    /// Every step with its decision, before the run.
    pub plan: Vec<PlannedStep>,
    /// Every executed step; empty while no step runs.
    pub steps: Vec<StepRecord>,
    pub warnings: Vec<String>,
    pub steps_done: u64,
    /// Each file an `upload` handed to a page: its name, size and SHA-256, never its bytes
    /// (`session/people.rs`). Left out when there were none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<crate::session::people::UploadRecord>,
}

/// A run decided but not yet written to the audit log.
#[derive(Debug, Clone)]
pub struct Preview {
    result: RunResult,
    /// The verified token's id, for the audit log's run-start.
    pub jti: Option<String>,
    /// The checked script and its verified token, when the run may go ahead.
    pub accepted: Option<Box<(Checked, VerifiedToken)>>,
}

impl Preview {
    /// How the audit log's run-end records this run.
    pub fn completion(&self) -> Completion {
        match &self.result.error {
            Some(e) => Completion::failed(e.code.clone(), None),
            None => Completion::succeeded(None),
        }
    }

    pub fn into_result(self) -> RunResult {
        self.result
    }

    /// Every step with its decision before the run (shown in the approval window).
    pub fn plan(&self) -> &[PlannedStep] {
        &self.result.plan
    }

    /// The result of the run once executed: the preview's script, token and plan with what
    /// the engine reports.
    pub fn executed(&self, run: bridle_executor::engine::RunResult) -> RunResult {
        RunResult {
            outcome: run.outcome.into(),
            value: serde_json::to_value(&run.value).unwrap_or_default(),
            error: run.error.map(|e| ErrorReport {
                code: e.error.code().to_owned(),
                candidates: match e.error {
                    RunError::NotFound { candidates, .. }
                    | RunError::Ambiguous { candidates, .. } => candidates,
                    _ => Vec::new(),
                },
                message: e.message,
                help: e.help,
            }),
            steps: run.steps,
            warnings: run.warnings,
            steps_done: run.steps_done,
            ..self.result.clone()
        }
    }

    /// The run could not be written to the audit log: it is refused whatever it was.
    pub fn into_audit_failed(self, error: &dyn std::fmt::Display) -> RunResult {
        RunResult {
            outcome: RunOutcome::Refused,
            error: Some(ErrorReport {
                code: "audit-failed".to_owned(),
                message: format!("the run could not be written to the audit log: {error}"),
                help: Some("export the audit log from the options page and check it with `bridle audit verify`".to_owned()),
                candidates: Vec::new(),
            }),
            ..self.result
        }
    }
}

/// Checks the script, verifies the token against the policy (recording its use in
/// `replay`), and decides every step without page facts (`bridle_executor::preview`). A
/// script that does not check is refused before its token is read, so the token is not used
/// up.
pub fn preview(
    script: &[u8],
    token: &str,
    policy: &Policy,
    instance_id: &str,
    now: OffsetDateTime,
    replay: &mut dyn ReplayStore,
) -> Preview {
    let checked = match bridle_dsl::check_bytes(script, &check_options(policy)) {
        Ok(checked) => checked,
        Err(diags) => {
            let script_report = script_refused(&diags, script);
            let problems = diags.len();
            return Preview {
                result: RunResult {
                    outcome: RunOutcome::Refused,
                    value: serde_json::Value::Null,
                    error: Some(ErrorReport {
                        code: "script-invalid".to_owned(),
                        message: format!("the script does not check: {problems} problem(s)"),
                        help: Some("fix the problems listed in `script.diagnostics`".to_owned()),
                        candidates: Vec::new(),
                    }),
                    script: script_report,
                    token: TokenReport {
                        valid: false,
                        error: Some("the script does not check".to_owned()),
                        code: None,
                    },
                    goal: None,
                    plan: Vec::new(),
                    steps: Vec::new(),
                    warnings: Vec::new(),
                    steps_done: 0,
                    uploads: Vec::new(),
                },
                jti: None,
                accepted: None,
            };
        }
    };

    let verified = verify_token(token, policy, instance_id, now, script, replay);
    let plan = plan(&checked, &verified, policy);
    let accepted = verified
        .as_ref()
        .ok()
        .map(|token| Box::new((checked.clone(), token.clone())));
    let (outcome, error, jti) = match &verified {
        Ok(token) => (
            RunOutcome::NotExecuted,
            ErrorReport {
                code: NOT_EXECUTED_CODE.to_owned(),
                message: NOT_EXECUTED_MESSAGE.to_owned(),
                help: Some(
                    "`plan` lists every step with its decision; `self.bridle.run` executes runs"
                        .to_owned(),
                ),
                candidates: Vec::new(),
            },
            Some(token.jti().to_owned()),
        ),
        Err(e) => (
            RunOutcome::Refused,
            ErrorReport {
                code: e.code().to_owned(),
                message: e.to_string(),
                help: Some(e.help().to_owned()),
                candidates: Vec::new(),
            },
            None,
        ),
    };
    Preview {
        result: RunResult {
            outcome,
            value: serde_json::Value::Null,
            error: Some(error),
            script: script_checked(&checked),
            token: TokenReport::of(&verified),
            goal: Some(checked.goal.clone()),
            plan,
            steps: Vec::new(),
            warnings: Vec::new(),
            steps_done: 0,
            uploads: Vec::new(),
        },
        jti,
        accepted,
    }
}
