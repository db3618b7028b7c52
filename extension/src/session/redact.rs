//! Secrets a run filled never leave it: every audit event, page observation and result the
//! run produces after a fill has the values replaced, wherever a page echoed them back.
//!
//! A page may show what was typed into it ("Thank you, <name>"), list it among candidates,
//! or put it in its URL; a script could then read it and return it to the planner. The engine
//! carries only vault entry names, so the values are known here alone, and removed here.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// What a secret's value is replaced with.
pub const REDACTED: &str = "[secret]";

/// `value` with every occurrence of every secret replaced; `value` unchanged when it holds
/// none (or cannot go through JSON, which the engine's types always can).
pub fn redact<T: Serialize + DeserializeOwned + Clone>(value: &T, secrets: &[String]) -> T {
    if secrets.is_empty() {
        return value.clone();
    }
    let Ok(mut json) = serde_json::to_value(value) else {
        return value.clone();
    };
    if !scrub(&mut json, secrets) {
        return value.clone();
    }
    serde_json::from_value(json).unwrap_or_else(|_| value.clone())
}

/// Replaces the secrets in every string of `json`; whether anything changed.
fn scrub(json: &mut Value, secrets: &[String]) -> bool {
    match json {
        Value::String(text) => {
            let mut changed = false;
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), REDACTED);
                    changed = true;
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| scrub(item, secrets) | changed),
        Value::Object(map) => map
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
        let clean = redact(&value, &secrets);
        let shown = clean.to_string();
        assert!(!shown.contains("4111"), "{shown}");
        assert_eq!(clean["text"], "Thank you, Ada [secret]");
        assert_eq!(clean["candidates"][1], "button \"Pay\"");
        assert_eq!(clean["n"], 3);
        assert_eq!(redact(&value, &[]), value);
    }
}
