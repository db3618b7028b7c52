//! The PEP's conformance vectors (`tests/vectors/decisions.json`): their stored shape and the
//! one replay that both the native test (`tests/vectors.rs`) and the extension's wasm build
//! (`self.bridleTest.replayVectors`) run, so a difference between the two builds is a
//! difference in the decision code, never in two copies of the replay.
//!
//! A vector is self-contained: policy, script, token, instance id, the time, and page facts.
//! Replaying one uses a fresh replay store and no other state.

use crate::decide::{decide, Context};
use crate::decision::Facts;
use crate::replay::MemoryReplayStore;
use crate::token::{UnverifiedToken, VerifyContext};
use crate::Policy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The largest vectors file a replay reads. The checked-in file is about 65 KB; the limit only
/// bounds what a caller can make the test hook parse.
pub const MAX_VECTORS_BYTES: usize = 1 << 20;

/// One vector as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub name: String,
    pub policy: String,
    pub script: String,
    pub token: String,
    pub instance: String,
    /// RFC 3339; the time the token is verified at.
    pub now: String,
    /// Page facts for some steps (by 1-based index); the others are decided as in a preview.
    pub facts: BTreeMap<usize, Facts>,
    pub expected: Expected,
}

/// What the PEP decides for a vector: the token's verdict and one decision per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub token_valid: bool,
    pub token_error: Option<String>,
    pub decisions: Vec<ExpectedStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedStep {
    pub index: usize,
    pub verb: String,
    pub risk: String,
    pub decision: String,
    pub reasons: Vec<String>,
}

/// The replay of one vector: what this build decided, and whether it is what the file says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub agrees: bool,
    pub got: Expected,
}

/// Why vectors could not be replayed at all (as opposed to replaying to other decisions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VectorError {
    #[error("the vectors are {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the vectors are not a JSON array of vectors: {0}")]
    Json(String),
    #[error("vector `{name}`: the policy does not load: {message}")]
    Policy { name: String, message: String },
    #[error("vector `{name}`: the script does not check: {message}")]
    Script { name: String, message: String },
    #[error("vector `{name}`: `now` is not an RFC 3339 time: {message}")]
    Now { name: String, message: String },
}

/// Reads a vectors file, refusing one over [`MAX_VECTORS_BYTES`] before parsing it.
pub fn parse(json: &str) -> Result<Vec<Vector>, VectorError> {
    if json.len() > MAX_VECTORS_BYTES {
        return Err(VectorError::TooLarge {
            size: json.len(),
            limit: MAX_VECTORS_BYTES,
        });
    }
    serde_json::from_str(json).map_err(|e| VectorError::Json(e.to_string()))
}

/// Runs one vector's inputs through the PEP exactly as `bridle authorize` and the extension
/// do: the policy, the checked script, the token verified (with a fresh replay store), then
/// `decide` per step. With an invalid token every step is denied, naming the token's error.
pub fn evaluate(v: &Vector) -> Result<Expected, VectorError> {
    let policy = Policy::from_toml(&v.policy).map_err(|e| VectorError::Policy {
        name: v.name.clone(),
        message: e.to_string(),
    })?;
    let options = bridle_dsl::CheckOptions {
        risk: policy.risk_options(),
    };
    let checked = bridle_dsl::check_bytes(v.script.as_bytes(), &options).map_err(|diags| {
        VectorError::Script {
            name: v.name.clone(),
            message: diags
                .iter()
                .map(|d| d.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        }
    })?;
    let now = OffsetDateTime::parse(&v.now, &Rfc3339).map_err(|e| VectorError::Now {
        name: v.name.clone(),
        message: e.to_string(),
    })?;
    let mut replay = MemoryReplayStore::new();
    let verified = UnverifiedToken::parse(&v.token).and_then(|t| {
        t.verify(&mut VerifyContext {
            keys: &policy,
            instance_id: &v.instance,
            now,
            script: Some(v.script.as_bytes()),
            replay: &mut replay,
        })
    });
    let decisions = checked
        .steps
        .iter()
        .map(|step| {
            let (decision, risk, reasons) = match &verified {
                Ok(token) => {
                    let facts = v.facts.get(&step.index).cloned().unwrap_or_default();
                    let ctx = Context::new(&checked, token, &policy);
                    let d = decide(&ctx, step, &facts);
                    (d.outcome.as_str(), d.risk.as_str(), d.reason_texts())
                }
                Err(e) => (
                    "deny",
                    step.risk.as_str(),
                    vec![format!("invalid token: {}", e.code())],
                ),
            };
            ExpectedStep {
                index: step.index,
                verb: step.verb.as_str().to_owned(),
                risk: risk.to_owned(),
                decision: decision.to_owned(),
                reasons,
            }
        })
        .collect();
    Ok(Expected {
        token_valid: verified.is_ok(),
        token_error: verified.err().map(|e| e.code().to_owned()),
        decisions,
    })
}

/// Replays every vector of a vectors file, in order: one result per vector.
pub fn replay(json: &str) -> Result<Vec<CaseResult>, VectorError> {
    parse(json)?
        .into_iter()
        .map(|v| {
            let got = evaluate(&v)?;
            Ok(CaseResult {
                agrees: got == v.expected,
                name: v.name,
                got,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_before_parsing() {
        let json = " ".repeat(MAX_VECTORS_BYTES + 1);
        assert_eq!(
            replay(&json),
            Err(VectorError::TooLarge {
                size: MAX_VECTORS_BYTES + 1,
                limit: MAX_VECTORS_BYTES
            })
        );
        // At the limit it is parsed (and is not JSON).
        let json = " ".repeat(MAX_VECTORS_BYTES);
        assert!(matches!(replay(&json), Err(VectorError::Json(_))));
    }

    #[test]
    fn an_empty_file_replays_nothing() {
        assert_eq!(replay("[]"), Ok(vec![]));
    }

    fn vector(policy: &str, script: &str, now: &str) -> serde_json::Value {
        serde_json::json!({
            "name": "v", "policy": policy, "script": script, "token": "v4.public.x",
            "instance": "bx1_0", "now": now, "facts": {},
            "expected": {"token_valid": false, "token_error": null, "decisions": []}
        })
    }

    const SCRIPT: &str =
        "bridle 1\ngoal \"g\"\norigins \"https://a.example\"\nnavigate \"https://a.example/\"\n";

    #[test]
    fn unknown_fields_and_broken_inputs_are_errors_not_decisions() {
        let mut extra = vector("", SCRIPT, "2026-11-27T12:00:00Z");
        extra["extra"] = serde_json::json!(1);
        assert!(matches!(
            replay(&serde_json::json!([extra]).to_string()),
            Err(VectorError::Json(_))
        ));
        let bad_policy = vector("[[site]\n", SCRIPT, "2026-11-27T12:00:00Z");
        assert!(matches!(
            replay(&serde_json::json!([bad_policy]).to_string()),
            Err(VectorError::Policy { .. })
        ));
        let bad_script = vector("", "bridle 1\nclick\n", "2026-11-27T12:00:00Z");
        assert!(matches!(
            replay(&serde_json::json!([bad_script]).to_string()),
            Err(VectorError::Script { .. })
        ));
        let bad_now = vector("", SCRIPT, "noon");
        assert!(matches!(
            replay(&serde_json::json!([bad_now]).to_string()),
            Err(VectorError::Now { .. })
        ));
    }

    #[test]
    fn a_bad_token_denies_every_step_and_disagrees_with_a_wrong_expectation() {
        let got =
            replay(&serde_json::json!([vector("", SCRIPT, "2026-11-27T12:00:00Z")]).to_string())
                .unwrap();
        assert_eq!(got.len(), 1);
        assert!(!got[0].agrees, "the expectation lists no steps");
        assert!(!got[0].got.token_valid);
        assert_eq!(got[0].got.decisions.len(), 1);
        assert_eq!(got[0].got.decisions[0].decision, "deny");
    }
}
