//! Secrets a run filled never leave it: every audit event, page observation and result the
//! run produces after a fill has the values replaced, wherever a page echoed them back.
//!
//! A page may show what was typed into it ("Thank you, <name>"), list it among candidates,
//! or put it in its URL; a script could then read it and return it to the planner. The engine
//! carries only vault entry names, so the values are known here alone, and removed here.

use bridle_executor::engine::{RunError, RunOutcome, RunResult, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a secret's value is replaced with.
pub const REDACTED: &str = "[secret]";

/// Why an audit entry or an observation was refused: it could not be cleared of a secret.
pub const UNCLEARABLE: &str =
    "it holds a vault secret that cannot be cleared from it (the secret also occurs in its fixed fields); nothing was recorded or read";

/// The result given instead of a run's result that cannot be cleared of a secret: failed,
/// with nothing from the page, the steps' records and the error withheld.
pub fn withheld(result: &RunResult) -> RunResult {
    RunResult {
        outcome: RunOutcome::Failed,
        value: Value::Null,
        error: Some(
            RunError::AuditFailed {
                step: None,
                message: format!("the run's result was withheld: {UNCLEARABLE}"),
            }
            .into(),
        ),
        steps: Vec::new(),
        warnings: Vec::new(),
        steps_done: result.steps_done,
    }
}

/// `value` with every occurrence of every secret replaced (`value` itself when it holds none).
/// `None` when the cleaned value no longer fits its type — a short secret that also occurs in
/// a tag or a digest — so that the caller fails closed rather than keep the secret.
pub fn redact<T: Serialize + DeserializeOwned + Clone>(value: &T, secrets: &[String]) -> Option<T> {
    if secrets.is_empty() {
        return Some(value.clone());
    }
    let mut json = serde_json::to_value(value).ok()?;
    if !scrub(&mut json, secrets) {
        return Some(value.clone());
    }
    serde_json::from_value(json).ok()
}

/// Replaces the secrets in every string of `json`; whether anything changed.
fn scrub(json: &mut serde_json::Value, secrets: &[String]) -> bool {
    use serde_json::Value as Json;
    match json {
        Json::String(text) => {
            let mut changed = false;
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), REDACTED);
                    changed = true;
                }
            }
            changed
        }
        Json::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| scrub(item, secrets) | changed),
        Json::Object(map) => map
            .values_mut()
            .fold(false, |changed, item| scrub(item, secrets) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_in_nested_strings() {
        let secrets = vec!["4111-1111".to_owned()];
        let value = serde_json::json!({
            "text": "Thank you, Ada 4111-1111",
            "candidates": ["heading \"4111-1111\"", "button \"Pay\""],
            "n": 3,
        });
        let clean = redact(&value, &secrets).unwrap();
        let shown = clean.to_string();
        assert!(!shown.contains("4111"), "{shown}");
        assert_eq!(clean["text"], "Thank you, Ada [secret]");
        assert_eq!(clean["candidates"][1], "button \"Pay\"");
        assert_eq!(clean["n"], 3);
        assert_eq!(redact(&value, &[]), Some(value));
    }

    #[test]
    fn a_secret_that_breaks_the_type_fails_closed() {
        #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Step,
        }
        // The secret `te` also occurs in the tag `step`: the cleaned value is not a `Kind`.
        assert_eq!(redact(&Kind::Step, &["te".to_owned()]), None);
        assert_eq!(redact(&Kind::Step, &["zz".to_owned()]), Some(Kind::Step));
    }
}
