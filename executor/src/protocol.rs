//! The planner channel's messages (protocol version 1, `docs/protocol.md`) and pairing strings.
//!
//! The extension dials out to a planner over WebSocket and the two exchange JSON text messages.
//! The channel grants nothing: every run is authorised by its token and the local policy only.
//! So the planner's messages are parsed strictly (a closed set of kinds, unknown fields refused,
//! a size cap checked before parsing), and anything odd gets a typed error reply, never a crash.
//! The instance's messages are read leniently by planners so the extension can add fields
//! without breaking them; new kinds or changed meanings take a new protocol version.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The protocol version both sides speak; `hello` carries it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message either side accepts, in bytes, checked before parsing. A script may be
/// 1 MiB (`bridle_dsl::limits::MAX_SCRIPT_BYTES`) and a token 8 KiB; JSON escaping and the
/// envelope fit in the rest.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// The longest run id, in bytes.
pub const MAX_RUN_ID_BYTES: usize = 64;

/// The longest pairing string, in bytes.
pub const MAX_PAIRING_BYTES: usize = 2048;

/// The prefix of a pairing string.
pub const PAIRING_PREFIX: &str = "bridle-pair:";

/// A message from the planner to the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ToInstance {
    /// Run `script`, authorised by `token`.
    Run {
        run: String,
        script: String,
        token: String,
    },
    /// Stop run `run`; the step in progress is recorded as cancelled.
    Cancel { run: String },
    /// Liveness: answered with `pong` carrying the same nonce.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
}

/// A message from the instance to the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToPlanner {
    /// The first message on every connection.
    Hello {
        protocol: u32,
        /// The instance id (`bx1_…`): tokens must name it as their audience.
        instance: String,
        /// The extension's version.
        extension: String,
        /// The script language versions the instance accepts.
        language: Vec<u32>,
        /// What the instance does: `run`, `cancel`, `progress`.
        capabilities: Vec<String>,
        /// `chrome` or `firefox`.
        browser: String,
    },
    /// How a run goes, step by step.
    Progress {
        run: String,
        #[serde(flatten)]
        event: Progress,
    },
    /// The run's end: the extension's `RunResult` (outcome, plan, per-step records, value or
    /// error, the checker's diagnostics when the script did not check).
    Result {
        run: String,
        result: serde_json::Value,
    },
    /// A message that was refused, or a run that could not start.
    Error {
        #[serde(default)]
        run: Option<String>,
        code: ErrorCode,
        message: String,
    },
    /// The answer to `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
    /// Sent every 20 s while connected: browsers stop an idle extension service worker after
    /// 30 s, and traffic on its WebSocket keeps it running. Planners ignore it.
    Keepalive {},
}

/// One progress event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Progress {
    /// The script checked and the token verified: the plan with its decisions.
    Started { plan: serde_json::Value },
    /// The user is being asked about step `step` (its canonical text).
    ApprovalWaiting { step: usize, text: String },
    /// Step `step` waits for the user to do something by hand: `what` it is, and `text`, the
    /// handoff's message or the upload window's heading.
    UserWaiting {
        step: usize,
        what: UserTask,
        text: String,
    },
    /// A step ran (or was refused): the extension's `StepRecord`.
    Step { record: serde_json::Value },
}

/// What a step waits for the user to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserTask {
    /// A `handoff`: the user acts in the page, then continues or aborts.
    Handoff,
    /// An `upload`: the user picks the file.
    File,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Larger than [`MAX_MESSAGE_BYTES`].
    #[error("the message is larger than the limit")]
    TooLarge,
    /// Not JSON, not an object, or a field of the wrong type.
    #[error("the message is not valid")]
    Malformed,
    /// A `type` this protocol version does not have.
    #[error("the message kind is unknown")]
    UnknownType,
    /// A run id that is empty, too long or not `[A-Za-z0-9._-]`.
    #[error("the run id is invalid")]
    BadRunId,
    /// A run is in progress already: one at a time per instance.
    #[error("a run is in progress")]
    Busy,
    /// `cancel` for a run that is not running.
    #[error("no such run")]
    UnknownRun,
    /// The instance failed: the run's state is in the audit log.
    #[error("the instance failed")]
    Internal,
}

impl ErrorCode {
    /// The code's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::TooLarge => "too-large",
            ErrorCode::Malformed => "malformed",
            ErrorCode::UnknownType => "unknown-type",
            ErrorCode::BadRunId => "bad-run-id",
            ErrorCode::Busy => "busy",
            ErrorCode::UnknownRun => "unknown-run",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A refused message: the code and the reason, for the `error` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    /// The run the message named, when it could be read.
    pub run: Option<String>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
            run: None,
        }
    }

    /// The `error` reply for this refusal.
    pub fn reply(&self) -> ToPlanner {
        ToPlanner::Error {
            run: self.run.clone(),
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// The message kinds a planner may send.
const KINDS: [&str; 3] = ["run", "cancel", "ping"];

/// Parses one message from the planner: the size first, then the JSON, then its shape.
pub fn parse_to_instance(text: &str) -> Result<ToInstance, Refusal> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(Refusal::new(
            ErrorCode::TooLarge,
            format!(
                "the message has {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                text.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Refusal::new(ErrorCode::Malformed, format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(Refusal::new(
            ErrorCode::Malformed,
            "a message is a JSON object",
        ));
    };
    // The run id is read first, so even a refused `run` is answered about the right run.
    let run = object
        .get("run")
        .and_then(|r| r.as_str())
        .map(|r| r.chars().take(MAX_RUN_ID_BYTES).collect::<String>());
    let with_run = |mut refusal: Refusal| {
        refusal.run = run.clone().filter(|r| valid_run_id(r));
        refusal
    };
    match object.get("type").and_then(|t| t.as_str()) {
        Some(kind) if KINDS.contains(&kind) => {}
        Some(kind) => {
            return Err(with_run(Refusal::new(
                ErrorCode::UnknownType,
                format!(
                    "`{}` is not a message kind of protocol {PROTOCOL_VERSION} (one of: {})",
                    kind.chars().take(40).collect::<String>(),
                    KINDS.join(", ")
                ),
            )))
        }
        None => {
            return Err(with_run(Refusal::new(
                ErrorCode::Malformed,
                "the message has no string `type`",
            )))
        }
    }
    let message: ToInstance = serde_json::from_value(value)
        .map_err(|e| with_run(Refusal::new(ErrorCode::Malformed, e.to_string())))?;
    match &message {
        ToInstance::Run { run, .. } | ToInstance::Cancel { run } if !valid_run_id(run) => {
            Err(Refusal::new(
                ErrorCode::BadRunId,
                format!("a run id is 1 to {MAX_RUN_ID_BYTES} bytes of letters, digits, `.`, `_` and `-`"),
            ))
        }
        _ => Ok(message),
    }
}

/// Whether `id` is a valid run id.
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RUN_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What a pairing string carries: everything a `[[planner]]` entry of the policy needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pairing {
    /// The pairing format's version: 1.
    pub v: u32,
    pub name: String,
    pub kid: String,
    /// The Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// `ws://127.0.0.1:…` or `wss://…`.
    pub endpoint: String,
    /// The longest token lifetime the user accepts from this planner, as in the policy.
    pub max_ttl: String,
}

/// Why a pairing string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("a pairing string starts with `{PAIRING_PREFIX}`")]
    Prefix,
    #[error("the pairing string is longer than {MAX_PAIRING_BYTES} bytes")]
    TooLong,
    #[error("the pairing string is not base64url: {0}")]
    Base64(String),
    #[error("the pairing string does not hold a pairing: {0}")]
    Json(String),
    #[error("pairing format version {0} is not supported (this extension reads version 1)")]
    Version(u32),
}

impl Pairing {
    /// The pairing string: the prefix and the base64url of the JSON.
    pub fn encode(&self) -> String {
        // A struct of strings always serialises.
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{PAIRING_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Reads a pairing string. The fields are checked as policy entries when the pairing is
    /// added to the policy (`policy::edit::add_planner`), with the policy's own errors.
    pub fn decode(text: &str) -> Result<Pairing, PairingError> {
        let text = text.trim();
        if text.len() > MAX_PAIRING_BYTES {
            return Err(PairingError::TooLong);
        }
        let body = text
            .strip_prefix(PAIRING_PREFIX)
            .ok_or(PairingError::Prefix)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| PairingError::Base64(e.to_string()))?;
        let pairing: Pairing =
            serde_json::from_slice(&bytes).map_err(|e| PairingError::Json(e.to_string()))?;
        if pairing.v != 1 {
            return Err(PairingError::Version(pairing.v));
        }
        Ok(pairing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_cancel_ping_parse() {
        let run = parse_to_instance(r#"{"type":"run","run":"r1","script":"s","token":"t"}"#);
        assert_eq!(
            run,
            Ok(ToInstance::Run {
                run: "r1".into(),
                script: "s".into(),
                token: "t".into()
            })
        );
        assert_eq!(
            parse_to_instance(r#"{"type":"cancel","run":"r1"}"#),
            Ok(ToInstance::Cancel { run: "r1".into() })
        );
        assert_eq!(
            parse_to_instance(r#"{"type":"ping"}"#),
            Ok(ToInstance::Ping { nonce: None })
        );
    }

    fn code(text: &str) -> ErrorCode {
        match parse_to_instance(text) {
            Ok(m) => panic!("accepted {m:?}"),
            Err(r) => r.code,
        }
    }

    #[test]
    fn bad_messages_are_refused_with_their_code() {
        assert_eq!(code("not json"), ErrorCode::Malformed);
        assert_eq!(code("[1]"), ErrorCode::Malformed);
        assert_eq!(code(r#"{"run":"r1"}"#), ErrorCode::Malformed);
        assert_eq!(
            code(r#"{"type":"grant","run":"r1"}"#),
            ErrorCode::UnknownType
        );
        assert_eq!(
            code(r#"{"type":"run","run":"r1","script":"s"}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(r#"{"type":"run","run":"r1","script":"s","token":"t","policy":"x"}"#),
            ErrorCode::Malformed,
            "unknown fields are refused: the channel cannot smuggle anything in"
        );
        assert_eq!(
            code(r#"{"type":"cancel","run":"a b"}"#),
            ErrorCode::BadRunId
        );
        assert_eq!(code(r#"{"type":"cancel","run":""}"#), ErrorCode::BadRunId);
        let long = format!(r#"{{"type":"cancel","run":"{}"}}"#, "a".repeat(65));
        assert_eq!(code(&long), ErrorCode::BadRunId);
    }

    #[test]
    fn the_size_is_checked_before_parsing() {
        let big = format!(
            r#"{{"type":"run","run":"r","script":"{}","token":"t"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(code(&big), ErrorCode::TooLarge);
        // Not even JSON, but too large: the size is what is reported.
        assert_eq!(
            code(&"{".repeat(MAX_MESSAGE_BYTES + 1)),
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn refusals_name_the_run_when_they_can() {
        let refusal = match parse_to_instance(r#"{"type":"run","run":"r9","script":1,"token":"t"}"#)
        {
            Err(r) => r,
            Ok(m) => panic!("accepted {m:?}"),
        };
        assert_eq!(refusal.run.as_deref(), Some("r9"));
        let reply = serde_json::to_value(refusal.reply()).unwrap();
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["code"], "malformed");
        assert_eq!(reply["run"], "r9");
    }

    #[test]
    fn instance_messages_have_the_documented_shape() {
        let hello = ToPlanner::Hello {
            protocol: PROTOCOL_VERSION,
            instance: "bx1_x".into(),
            extension: "0.1.0".into(),
            language: vec![1],
            capabilities: vec!["run".into()],
            browser: "chrome".into(),
        };
        let v = serde_json::to_value(&hello).unwrap();
        assert_eq!(v["type"], "hello");
        assert_eq!(v["protocol"], 1);
        let progress = ToPlanner::Progress {
            run: "r1".into(),
            event: Progress::ApprovalWaiting {
                step: 3,
                text: "click button \"Pay\"".into(),
            },
        };
        let v = serde_json::to_value(&progress).unwrap();
        assert_eq!(v["type"], "progress");
        assert_eq!(v["event"], "approval-waiting");
        assert_eq!(v["step"], 3);
        let waiting = ToPlanner::Progress {
            run: "r1".into(),
            event: Progress::UserWaiting {
                step: 2,
                what: UserTask::Handoff,
                text: "Please sign in".into(),
            },
        };
        let v = serde_json::to_value(&waiting).unwrap();
        assert_eq!(
            (v["event"].as_str(), v["what"].as_str(), v["step"].as_u64()),
            (Some("user-waiting"), Some("handoff"), Some(2))
        );
        // Planners read the instance's messages leniently: a field added later is ignored.
        let later: ToPlanner =
            serde_json::from_str(r#"{"type":"pong","nonce":"n","added":true}"#).unwrap();
        assert_eq!(
            later,
            ToPlanner::Pong {
                nonce: Some("n".into())
            }
        );
    }

    #[test]
    fn pairing_round_trips_and_refuses_junk() {
        let pairing = Pairing {
            v: 1,
            name: "home".into(),
            kid: "k1_abc".into(),
            public_key: "rrHvidafPRPkloz63ZmbPP3fTnS2Z1W-D6fHHhq7_DU".into(),
            endpoint: "ws://127.0.0.1:7878/bridle".into(),
            max_ttl: "15m".into(),
        };
        let text = pairing.encode();
        assert!(text.starts_with(PAIRING_PREFIX));
        assert_eq!(Pairing::decode(&format!("  {text}\n")), Ok(pairing.clone()));
        assert_eq!(Pairing::decode("pair:abc"), Err(PairingError::Prefix));
        assert!(matches!(
            Pairing::decode("bridle-pair:!!"),
            Err(PairingError::Base64(_))
        ));
        let junk = format!("{PAIRING_PREFIX}{}", URL_SAFE_NO_PAD.encode(b"{\"v\":1}"));
        assert!(matches!(Pairing::decode(&junk), Err(PairingError::Json(_))));
        let v2 = Pairing { v: 2, ..pairing };
        assert_eq!(Pairing::decode(&v2.encode()), Err(PairingError::Version(2)));
        assert_eq!(
            Pairing::decode(&format!(
                "{PAIRING_PREFIX}{}",
                "A".repeat(MAX_PAIRING_BYTES)
            )),
            Err(PairingError::TooLong)
        );
    }
}
