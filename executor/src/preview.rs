//! The plan preview: verify a script's token against the local policy and decide every step
//! before the run, with no page facts. `bridle authorize` prints it; the extension shows it
//! before a run and returns it in `run()`'s result. One implementation, so both agree
//! decision for decision.

use crate::decide::{decide, Context};
use crate::decision::{Decision, Facts, Outcome, Reason, Source};
use crate::replay::ReplayStore;
use crate::token::{TokenError, UnverifiedToken, VerifiedToken, VerifyContext};
use crate::Policy;
use bridle_dsl::Checked;
use serde::Serialize;
use time::OffsetDateTime;

/// Whether the token verified, and why not (the stable `token` object of
/// `bridle authorize --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenReport {
    pub valid: bool,
    pub error: Option<String>,
    /// The error's stable code (`expired`, `bad-signature`, `replayed` …), when invalid.
    pub code: Option<&'static str>,
}

impl TokenReport {
    pub fn of(verified: &Result<VerifiedToken, TokenError>) -> Self {
        match verified {
            Ok(_) => TokenReport {
                valid: true,
                error: None,
                code: None,
            },
            Err(e) => TokenReport {
                valid: false,
                error: Some(e.to_string()),
                code: Some(e.code()),
            },
        }
    }
}

/// One step of the preview (the stable `steps[]` objects of `bridle authorize --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    pub index: usize,
    pub line: usize,
    /// The language's verb word.
    pub verb: &'static str,
    /// The risk after the policy's sensitive words.
    pub risk: &'static str,
    /// `allow`, `ask` or `deny`, decided without page facts; the run decides again with them.
    pub decision: &'static str,
    pub reasons: Vec<String>,
    /// The step's canonical text.
    pub text: String,
}

/// Verifies `token` for `script` against the planners `policy` trusts, recording its use in
/// `replay` (a dry run passes a fresh store, so the token is not consumed).
pub fn verify_token(
    token: &str,
    policy: &Policy,
    instance_id: &str,
    now: OffsetDateTime,
    script: &[u8],
    replay: &mut dyn ReplayStore,
) -> Result<VerifiedToken, TokenError> {
    UnverifiedToken::parse(token.trim())?.verify(&mut VerifyContext {
        keys: policy,
        instance_id,
        now,
        script: Some(script),
        replay,
    })
}

/// Every step of `checked` with its decision. With an invalid token every step is denied,
/// each saying why.
pub fn plan(
    checked: &Checked,
    verified: &Result<VerifiedToken, TokenError>,
    policy: &Policy,
) -> Vec<PlannedStep> {
    let ctx = verified
        .as_ref()
        .map(|token| Context::new(checked, token, policy));
    checked
        .steps
        .iter()
        .map(|step| {
            let decision = match &ctx {
                Ok(ctx) => decide(ctx, step, &Facts::default()),
                Err(e) => Decision {
                    outcome: Outcome::Deny,
                    risk: step.risk,
                    reasons: vec![Reason::new(
                        Source::Token,
                        Outcome::Deny,
                        format!("the token is invalid: {e}"),
                    )],
                },
            };
            PlannedStep {
                index: step.index,
                line: step.line,
                verb: step.verb.as_str(),
                risk: decision.risk.as_str(),
                decision: decision.outcome.as_str(),
                reasons: decision.reason_texts(),
                text: step.text.clone(),
            }
        })
        .collect()
}
