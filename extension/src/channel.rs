//! The planner channel's side in the instance: reading the planner's messages, writing the
//! instance's, and pairing planners into the local policy (`docs/protocol.md`).
//!
//! The service worker owns the WebSockets; what a message means and whether it is acceptable
//! is decided here, so TypeScript only moves text. The channel grants nothing: a `run` is
//! handed to the same path as `self.bridle.run`, where the token and the policy decide.

use crate::instance::{Instance, Now};
use crate::report::PolicyReport;
use bridle_executor::policy::edit::{self, EditError};
use bridle_executor::protocol::{
    parse_to_instance, Pairing, ToInstance, ToPlanner, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use serde::Serialize;

/// What one message from the planner asks for, or the error reply it gets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Incoming {
    /// A well-formed message.
    Message { message: ToInstance },
    /// A refused message: send `reply` back, keep the connection.
    Refused { reply: ToPlanner },
}

/// Reads one text message from the planner.
pub fn incoming(text: &str) -> Incoming {
    match parse_to_instance(text) {
        Ok(message) => Incoming::Message { message },
        Err(refusal) => Incoming::Refused {
            reply: refusal.reply(),
        },
    }
}

/// Why an outgoing message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum OutgoingError {
    #[error("the message to the planner has an unexpected shape: {0}")]
    Shape(#[from] serde_json::Error),
    #[error("the message to the planner has {0} bytes, more than the protocol allows")]
    TooLarge(usize),
}

/// Checks an outgoing message against the protocol's types and returns its wire text. The
/// service worker builds messages as plain objects; this makes the Rust types the one contract.
pub fn outgoing(message: &serde_json::Value) -> Result<String, OutgoingError> {
    let typed: ToPlanner = serde_json::from_value(message.clone())?;
    let text = serde_json::to_string(&typed)?;
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(OutgoingError::TooLarge(text.len()));
    }
    Ok(text)
}

/// The `hello` this instance sends on every connection.
pub fn hello(instance: &Instance, browser: &str) -> ToPlanner {
    ToPlanner::Hello {
        protocol: PROTOCOL_VERSION,
        instance: instance.instance_id().to_owned(),
        extension: env!("CARGO_PKG_VERSION").to_owned(),
        language: vec![1],
        capabilities: ["run", "cancel", "progress"].map(str::to_owned).to_vec(),
        browser: browser.to_owned(),
    }
}

/// A paired planner, as the options page and the connector see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairedPlanner {
    pub name: String,
    pub kid: String,
    pub public_key: String,
    /// Only planners with an endpoint are dialled.
    pub endpoint: Option<String>,
}

/// Every planner of the policy in use.
pub fn planners(instance: &Instance) -> Vec<PairedPlanner> {
    instance
        .policy()
        .planners
        .iter()
        .map(|p| PairedPlanner {
            name: p.name.clone(),
            kid: p.kid.clone(),
            public_key: bridle_executor::keys::encode_public_key(&p.verifying_key),
            endpoint: p.endpoint.clone(),
        })
        .collect()
}

/// Adds a planner to the policy in use (and so to the stored policy, which the service worker
/// saves from `policyText`). The options page fills `pairing` by hand or from a pairing string.
pub fn pair(instance: &mut Instance, pairing: &Pairing, now: &Now) -> PolicyReport {
    let edited = edit::add_planner(instance.policy_text(), pairing);
    apply(instance, edited, now)
}

/// Adds the planner of a `bridle-pair:…` string.
pub fn pair_string(instance: &mut Instance, pairing: &str, now: &Now) -> PolicyReport {
    match Pairing::decode(pairing) {
        Err(e) => PolicyReport::refused(e.to_string()),
        Ok(pairing) => pair(instance, &pairing, now),
    }
}

/// Removes the planner named `name` from the policy in use.
pub fn unpair(instance: &mut Instance, name: &str, now: &Now) -> PolicyReport {
    let edited = edit::remove_planner(instance.policy_text(), name);
    apply(instance, edited, now)
}

fn apply(
    instance: &mut Instance,
    edited: Result<(String, bridle_executor::Policy), EditError>,
    now: &Now,
) -> PolicyReport {
    match edited {
        // The edited text was validated; setting it records the change in the audit log.
        Ok((text, _)) => instance.set_policy(&text, now),
        Err(EditError::Invalid(errors)) => {
            crate::report::policy_errors(&errors, instance.policy_text())
        }
        Err(e) => PolicyReport::refused(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::Stored;
    use bridle_executor::ed25519_dalek::SigningKey;
    use time::macros::datetime;

    fn instance() -> (Instance, Now) {
        let now = Now::new(datetime!(2026-11-27 12:00 UTC)).unwrap();
        let instance =
            Instance::load(Stored::default(), &now, || SigningKey::from_bytes(&[7; 32])).unwrap();
        (instance, now)
    }

    fn pairing(name: &str, endpoint: &str) -> String {
        pairing_of(name, endpoint).encode()
    }

    fn pairing_of(name: &str, endpoint: &str) -> Pairing {
        Pairing {
            v: 1,
            name: name.into(),
            kid: format!("k1_{name}"),
            public_key: bridle_executor::keys::encode_public_key(
                &SigningKey::from_bytes(&[9; 32]).verifying_key(),
            ),
            endpoint: endpoint.into(),
            max_ttl: "15m".into(),
        }
    }

    #[test]
    fn pairing_adds_the_planner_and_unpairing_removes_it() {
        let (mut instance, now) = instance();
        assert!(planners(&instance).is_empty());
        let report = pair_string(
            &mut instance,
            &pairing("home", "ws://127.0.0.1:7878/bridle"),
            &now,
        );
        assert!(report.ok, "{report:?}");
        let paired = planners(&instance);
        assert_eq!(paired.len(), 1);
        assert_eq!(paired[0].name, "home");
        assert_eq!(
            paired[0].endpoint.as_deref(),
            Some("ws://127.0.0.1:7878/bridle")
        );
        assert!(instance.policy_text().contains("[[planner]]"));
        assert!(!instance.policy_is_default());

        let again = pair(
            &mut instance,
            &pairing_of("home", "ws://127.0.0.1:1/x"),
            &now,
        );
        assert!(
            !again.ok && again.message.contains("paired already"),
            "{again:?}"
        );

        assert!(unpair(&mut instance, "home", &now).ok);
        assert!(planners(&instance).is_empty());
        assert!(!unpair(&mut instance, "home", &now).ok);
    }

    #[test]
    fn a_pairing_off_loopback_without_tls_is_refused_and_changes_nothing() {
        let (mut instance, now) = instance();
        let before = instance.policy_text().to_owned();
        let report = pair_string(
            &mut instance,
            &pairing("far", "ws://planner.example.com/b"),
            &now,
        );
        assert!(!report.ok);
        assert!(report.message.contains("endpoint"), "{}", report.message);
        assert_eq!(instance.policy_text(), before);
        let report = pair_string(&mut instance, "bridle-pair:not base64", &now);
        assert!(
            !report.ok && report.message.contains("base64url"),
            "{report:?}"
        );
    }

    #[test]
    fn messages_in_and_out() {
        assert!(matches!(
            incoming(r#"{"type":"ping","nonce":"a"}"#),
            Incoming::Message { .. }
        ));
        let Incoming::Refused { reply } = incoming(r#"{"type":"run","run":"r"}"#) else {
            panic!("an incomplete run must be refused");
        };
        let text = serde_json::to_string(&reply).unwrap();
        assert!(text.contains(r#""code":"malformed""#), "{text}");

        let (instance, _) = instance();
        let hello = serde_json::to_value(hello(&instance, "chrome")).unwrap();
        assert_eq!(hello["instance"], instance.instance_id());
        assert!(outgoing(&hello).is_ok());
        assert!(outgoing(&serde_json::json!({"type": "hello"})).is_err());
        let progress = serde_json::json!({
            "type": "progress", "run": "r1", "event": "step", "record": {"index": 0}
        });
        assert!(outgoing(&progress).unwrap().contains(r#""event":"step""#));
    }
}
