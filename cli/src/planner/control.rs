//! The control path's messages: how `bridle planner run` (or any local tool) hands a script to
//! a running `bridle planner serve` and follows it (`docs/planner.md#the-control-path`).
//!
//! The control path is a WebSocket on the planner's own address at `/control`, accepted from
//! loopback peers only: whoever can reach it can make the planner sign tokens. Requests are
//! parsed strictly, like the instance's side of the protocol does with the planner's messages.

use serde::{Deserialize, Serialize};

/// The path instances connect on.
pub const INSTANCE_PATH: &str = "/bridle";
/// The path of the control connection.
pub const CONTROL_PATH: &str = "/control";

/// A request from a control client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ControlRequest {
    /// Run a script on an instance: the first message of a control connection.
    Submit {
        /// The script's exact text (the token is bound to its bytes).
        script: String,
        /// A label for the planner's output, such as the file name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// How long to wait for an instance to be connected, in milliseconds (default 30 000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<u64>,
        /// The instance to run on (default: the one that connected last).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// Cancel the submitted run.
    Cancel,
}

/// The default wait for an instance, in milliseconds.
pub const DEFAULT_WAIT_MS: u64 = 30_000;

/// The longest wait for an instance a control client may ask for: a day.
pub const MAX_WAIT_MS: u64 = 24 * 60 * 60 * 1000;

/// Error codes the planner itself gives on the control path (besides the instance's own
/// `error` codes, `docs/protocol.md#errors`, which it passes on).
pub mod codes {
    /// The request was not a valid control message.
    pub const BAD_REQUEST: &str = "bad-request";
    /// The request was larger than the message limit.
    pub const TOO_LARGE: &str = "too-large";
    /// No instance (or not the one asked for) connected in time.
    pub const NO_INSTANCE: &str = "no-instance";
    /// The planner could not mint the token (its claims were invalid).
    pub const MINT: &str = "mint";
    /// The planner is shutting down or failed.
    pub const INTERNAL: &str = "internal";
}

/// Whether a planner → control client message ends the exchange.
pub fn is_final(message: &serde_json::Value) -> bool {
    matches!(
        message.get("type").and_then(|t| t.as_str()),
        Some("result" | "lost" | "error")
    )
}

/// The exit code `bridle planner run` gives for a final message: 0 only for a completed run.
pub fn exit_code_of(message: &serde_json::Value) -> u8 {
    let completed = message.get("type").and_then(|t| t.as_str()) == Some("result")
        && message.pointer("/result/outcome").and_then(|o| o.as_str()) == Some("completed");
    if completed {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_strictly() {
        let submit: ControlRequest =
            serde_json::from_str(r#"{"type":"submit","script":"bridle 1\n","wait_ms":5}"#).unwrap();
        assert_eq!(
            submit,
            ControlRequest::Submit {
                script: "bridle 1\n".into(),
                name: None,
                wait_ms: Some(5),
                instance: None
            }
        );
        assert!(serde_json::from_str::<ControlRequest>(r#"{"type":"submit"}"#).is_err());
        assert!(serde_json::from_str::<ControlRequest>(
            r#"{"type":"submit","script":"x","token":"v4.public.x"}"#
        )
        .is_err());
        assert_eq!(
            serde_json::from_str::<ControlRequest>(r#"{"type":"cancel"}"#).unwrap(),
            ControlRequest::Cancel
        );
    }

    #[test]
    fn only_a_completed_result_exits_zero() {
        let done = json!({"type":"result","run":"r","result":{"outcome":"completed"}});
        assert!(is_final(&done));
        assert_eq!(exit_code_of(&done), 0);
        for outcome in ["refused", "denied", "failed", "cancelled"] {
            let m = json!({"type":"result","run":"r","result":{"outcome":outcome}});
            assert_eq!(exit_code_of(&m), 1, "{outcome}");
        }
        let lost = json!({"type":"lost","run":"r","message":"gone"});
        assert!(is_final(&lost));
        assert_eq!(exit_code_of(&lost), 1);
        assert!(!is_final(&json!({"type":"progress"})));
    }
}
