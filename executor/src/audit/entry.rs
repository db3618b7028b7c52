//! One audit entry: its fields, its canonical bytes, its hash and signature, and the rules on
//! which fields each kind of entry carries.
//!
//! The canonical form is written by hand rather than through a serialiser so that the exact
//! bytes are spelled out here and in `docs/audit.md`, where any other implementation can match
//! them: every field always present in one fixed order, `null` where a field does not apply,
//! no whitespace, integers only, strings escaped the way `JSON.stringify` and `serde_json`
//! both escape them.

use super::types::Approval;
use super::types::{ChainHash, Completion, ContentHash, EntryKind, Target, Timestamp};
use super::SIGNING_CONTEXT;
use crate::decision::Outcome;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The field names of an entry in canonical order. `hash` and `sig` are last and are not part
/// of the bytes that are hashed.
pub const FIELDS: [&str; 19] = [
    "seq", "time", "prev", "instance", "kind", "key", "run", "of", "script", "jti", "step", "text",
    "target", "decision", "reasons", "approval", "result", "hash", "sig",
];

/// One line of the log, as data. Parsing a line gives an `AuditEntry`; only
/// [`verify_log`](super::verify_log) says whether it can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log, from 0, consecutive.
    pub seq: u64,
    pub time: Timestamp,
    /// The `hash` of the previous entry; [`ChainHash::GENESIS`] for the first.
    pub prev: ChainHash,
    /// The id of the executor instance whose key signs the log.
    pub instance: String,
    pub kind: EntryKind,
    /// log-start: the instance's Ed25519 public key, base64url without padding.
    pub key: Option<String>,
    /// step: the seq of its run-start entry.
    pub run: Option<u64>,
    /// step-result, run-end: the seq of the step or run-start entry this one completes.
    pub of: Option<u64>,
    /// run-start, step: the digest of the exact script bytes.
    pub script: Option<ContentHash>,
    /// run-start, step: the token id, `null` when the run was refused before a token was read.
    pub jti: Option<String>,
    /// step: the step's index in the run, from 1.
    pub step: Option<u64>,
    /// step: the step's canonical text; note: the note.
    pub text: Option<String>,
    /// step: the element the step resolved to, when it has one.
    pub target: Option<Target>,
    /// step: the decision.
    pub decision: Option<Outcome>,
    /// step: the decision's reasons, in order.
    pub reasons: Option<Vec<String>>,
    /// step: the user's answer, present exactly when the decision is `ask`.
    pub approval: Option<Approval>,
    /// step-result, run-end: how it ended.
    pub result: Option<Completion>,
    /// SHA-256 over `prev`'s 32 bytes followed by [`AuditEntry::body`].
    pub hash: ChainHash,
    /// Ed25519 by the instance key over [`SIGNING_CONTEXT`] followed by `hash`'s 32 bytes.
    pub sig: Signature,
}

/// Whether a kind of entry must, may or must not carry a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Required,
    Optional,
    Forbidden,
}

/// The table of which fields each kind carries (the fields every entry has are not listed).
pub(crate) fn need(kind: EntryKind, field: &str) -> Need {
    use EntryKind::*;
    use Need::*;
    match (kind, field) {
        (LogStart, "key") => Required,
        (RunStart, "script") => Required,
        (RunStart, "jti") => Optional,
        (Step, "run" | "script" | "step" | "text" | "decision" | "reasons") => Required,
        (Step, "jti" | "target" | "approval") => Optional,
        (StepResult | RunEnd, "of" | "result") => Required,
        (Note, "text") => Required,
        _ => Forbidden,
    }
}

/// An entry that breaks the rules of its kind. These are checked after the signature, so a
/// signed entry of the wrong shape points at a faulty writer rather than at tampering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A field the kind requires is `null`.
    #[error("a `{kind}` entry needs `{field}`")]
    MissingField {
        kind: EntryKind,
        field: &'static str,
    },
    /// A field the kind does not use is set.
    #[error("a `{kind}` entry cannot have `{field}`")]
    ForbiddenField {
        kind: EntryKind,
        field: &'static str,
    },
    /// Step indexes count from 1.
    #[error("step index 0 is not allowed: steps count from 1")]
    StepZero,
    /// A step has no text.
    #[error("a step's `text` cannot be empty")]
    EmptyText,
    /// A step that asked has no recorded answer; a step entry is written after the dialog.
    #[error("a step decided `ask` needs the user's `approval`")]
    ApprovalMissing,
    /// Only a step that asked can have an answer.
    #[error("a step decided `{decision}` cannot have an `approval`")]
    ApprovalUnexpected { decision: Outcome },
    /// `ok` and `error` disagree.
    #[error("`result.ok` must be true exactly when `result.error` is null")]
    ResultInconsistent,
}

impl AuditEntry {
    fn present(&self, field: &str) -> bool {
        match field {
            "key" => self.key.is_some(),
            "run" => self.run.is_some(),
            "of" => self.of.is_some(),
            "script" => self.script.is_some(),
            "jti" => self.jti.is_some(),
            "step" => self.step.is_some(),
            "text" => self.text.is_some(),
            "target" => self.target.is_some(),
            "decision" => self.decision.is_some(),
            "reasons" => self.reasons.is_some(),
            "approval" => self.approval.is_some(),
            "result" => self.result.is_some(),
            _ => true,
        }
    }

    /// Checks the fields against the table of its kind and the few rules between fields.
    pub fn check_shape(&self) -> Result<(), ShapeError> {
        for field in &FIELDS[5..17] {
            match (need(self.kind, field), self.present(field)) {
                (Need::Required, false) => {
                    return Err(ShapeError::MissingField {
                        kind: self.kind,
                        field,
                    })
                }
                (Need::Forbidden, true) => {
                    return Err(ShapeError::ForbiddenField {
                        kind: self.kind,
                        field,
                    })
                }
                _ => {}
            }
        }
        if self.step == Some(0) {
            return Err(ShapeError::StepZero);
        }
        if self.kind == EntryKind::Step && self.text.as_deref() == Some("") {
            return Err(ShapeError::EmptyText);
        }
        match (self.decision, &self.approval) {
            (Some(Outcome::Ask), None) => return Err(ShapeError::ApprovalMissing),
            (Some(decision @ (Outcome::Allow | Outcome::Deny)), Some(_)) => {
                return Err(ShapeError::ApprovalUnexpected { decision })
            }
            _ => {}
        }
        if let Some(result) = &self.result {
            if result.ok == result.error.is_some() {
                return Err(ShapeError::ResultInconsistent);
            }
        }
        Ok(())
    }

    /// Whether a step entry will act: allowed, or asked and approved. Refused steps never get
    /// a step-result.
    pub fn acts(&self) -> bool {
        match self.decision {
            Some(Outcome::Allow) => true,
            Some(Outcome::Ask) => self.approval.as_ref().is_some_and(|a| a.choice.permits()),
            _ => false,
        }
    }

    /// The canonical bytes that are hashed: every field but `hash` and `sig`, in the order of
    /// [`FIELDS`], as one JSON object without whitespace.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push('{');
        write_num(&mut out, "seq", Some(self.seq));
        write_str(&mut out, ",\"time\":", Some(self.time.as_str()));
        write_str(&mut out, ",\"prev\":", Some(&self.prev.to_hex()));
        write_str(&mut out, ",\"instance\":", Some(&self.instance));
        write_str(&mut out, ",\"kind\":", Some(self.kind.as_str()));
        write_str(&mut out, ",\"key\":", self.key.as_deref());
        out.push(',');
        write_num(&mut out, "run", self.run);
        out.push(',');
        write_num(&mut out, "of", self.of);
        let script = self.script.map(|s| s.to_string());
        write_str(&mut out, ",\"script\":", script.as_deref());
        write_str(&mut out, ",\"jti\":", self.jti.as_deref());
        out.push(',');
        write_num(&mut out, "step", self.step);
        write_str(&mut out, ",\"text\":", self.text.as_deref());
        out.push_str(",\"target\":");
        match &self.target {
            None => out.push_str("null"),
            Some(t) => {
                write_str(&mut out, "{\"role\":", Some(&t.role));
                write_str(&mut out, ",\"name\":", Some(&t.name));
                write_str(&mut out, ",\"fingerprint\":", Some(&t.fingerprint));
                out.push('}');
            }
        }
        write_str(
            &mut out,
            ",\"decision\":",
            self.decision.map(Outcome::as_str),
        );
        out.push_str(",\"reasons\":");
        match &self.reasons {
            None => out.push_str("null"),
            Some(reasons) => {
                out.push('[');
                for (i, r) in reasons.iter().enumerate() {
                    write_str(&mut out, if i == 0 { "" } else { "," }, Some(r));
                }
                out.push(']');
            }
        }
        out.push_str(",\"approval\":");
        match &self.approval {
            None => out.push_str("null"),
            Some(a) => {
                write_str(&mut out, "{\"choice\":", Some(a.choice.as_str()));
                write_str(&mut out, ",\"at\":", Some(a.at.as_str()));
                out.push('}');
            }
        }
        out.push_str(",\"result\":");
        match &self.result {
            None => out.push_str("null"),
            Some(r) => {
                out.push_str(if r.ok {
                    "{\"ok\":true"
                } else {
                    "{\"ok\":false"
                });
                write_str(&mut out, ",\"error\":", r.error.as_deref());
                let obs = r.observation.map(|o| o.to_string());
                write_str(&mut out, ",\"observation\":", obs.as_deref());
                out.push('}');
            }
        }
        out.push('}');
        out
    }

    /// The whole canonical line (without its newline): the body with `hash` and `sig` added
    /// before the closing brace.
    pub fn to_line(&self) -> String {
        let mut line = self.body();
        line.pop();
        line.push_str(",\"hash\":\"");
        line.push_str(&self.hash.to_hex());
        line.push_str("\",\"sig\":\"");
        line.push_str(&b64url(&self.sig.to_bytes()));
        line.push_str("\"}");
        line
    }

    /// SHA-256 over the 32 bytes of `prev` followed by the body.
    pub fn compute_hash(&self) -> ChainHash {
        let mut h = Sha256::new();
        h.update(self.prev.0);
        h.update(self.body().as_bytes());
        ChainHash(h.finalize().into())
    }

    /// Sets `hash` from the other fields and signs it. The chain does this for every entry
    /// it writes; it is public so tools (and tamper tests) can build entries by hand.
    pub fn seal(&mut self, signer: &SigningKey) {
        self.hash = self.compute_hash();
        self.sig = signer.sign(&signed_message(self.hash));
    }

    /// Strict Ed25519 verification of `sig` over `hash` (the hash itself is checked apart).
    pub fn signature_valid(&self, key: &VerifyingKey) -> bool {
        key.verify_strict(&signed_message(self.hash), &self.sig)
            .is_ok()
    }

    /// An entry with every optional field `null`, not yet sealed.
    pub(crate) fn blank(
        seq: u64,
        time: Timestamp,
        prev: ChainHash,
        instance: String,
        kind: EntryKind,
    ) -> Self {
        AuditEntry {
            seq,
            time,
            prev,
            instance,
            kind,
            key: None,
            run: None,
            of: None,
            script: None,
            jti: None,
            step: None,
            text: None,
            target: None,
            decision: None,
            reasons: None,
            approval: None,
            result: None,
            hash: ChainHash::GENESIS,
            sig: Signature::from_bytes(&[0; 64]),
        }
    }
}

/// The message the instance key signs for an entry with this hash.
pub(crate) fn signed_message(hash: ChainHash) -> [u8; SIGNING_CONTEXT.len() + 32] {
    let mut msg = [0u8; SIGNING_CONTEXT.len() + 32];
    msg[..SIGNING_CONTEXT.len()].copy_from_slice(SIGNING_CONTEXT);
    msg[SIGNING_CONTEXT.len()..].copy_from_slice(&hash.0);
    msg
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn write_num(out: &mut String, name: &str, value: Option<u64>) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
    match value {
        // Writing to a String cannot fail.
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push_str("null"),
    }
}

/// Writes `prefix` then `value` as a JSON string, or `null`.
fn write_str(out: &mut String, prefix: &str, value: Option<&str>) {
    out.push_str(prefix);
    match value {
        Some(s) => write_json_string(out, s),
        None => out.push_str("null"),
    }
}

/// JSON string escaping with exactly one output per input: `"` and `\` escaped with a
/// backslash; backspace, form feed, newline, carriage return and tab as `\b \f \n \r \t`;
/// other characters below U+0020 as `\u00xx` with lowercase hex; everything else, including
/// U+007F, U+2028 and all non-ASCII, as raw UTF-8. `JSON.stringify` and `serde_json` agree.
pub(crate) fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::types::ApprovalChoice;

    fn json(s: &str) -> String {
        let mut out = String::new();
        write_json_string(&mut out, s);
        out
    }

    #[test]
    fn string_escaping_matches_serde_json_for_every_special_character() {
        let mut all_controls = String::new();
        for c in 0u32..0x20 {
            all_controls.push(char::from_u32(c).unwrap());
        }
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            &all_controls,
            "\u{7f} \u{2028} \u{2029} é 中 🦀",
            "click \"Pay now\"\n\ttwice",
        ] {
            assert_eq!(json(s), serde_json::to_string(s).unwrap(), "for {s:?}");
        }
        assert_eq!(json("\u{1}"), "\"\\u0001\"");
        assert_eq!(json("\u{1f}"), "\"\\u001f\"");
    }

    fn sample() -> AuditEntry {
        let mut e = AuditEntry::blank(
            3,
            Timestamp::parse("2025-03-01T12:00:00Z").unwrap(),
            ChainHash([7; 32]),
            "bx1_test".into(),
            EntryKind::Step,
        );
        e.run = Some(1);
        e.script = Some(ContentHash::of(b"script"));
        e.jti = Some("j1".into());
        e.step = Some(2);
        e.text = Some("click button \"Pay\"".into());
        e.target = Some(Target {
            role: "button".into(),
            name: "Pay".into(),
            fingerprint: "fp".into(),
        });
        e.decision = Some(Outcome::Ask);
        e.reasons = Some(vec!["ask (script): `click` is high risk".into()]);
        e.approval = Some(Approval {
            choice: ApprovalChoice::Once,
            at: Timestamp::parse("2025-03-01T12:00:05Z").unwrap(),
        });
        e
    }

    #[test]
    fn the_body_lists_every_field_in_order_without_whitespace() {
        let e = sample();
        let body = e.body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value.as_object().unwrap().len(), 17);
        let mut last = 0;
        for field in &FIELDS[..17] {
            let at = body.find(&format!("\"{field}\":")).unwrap();
            assert!(at >= last, "`{field}` out of order in {body}");
            last = at;
        }
        let expected = [
            "{\"seq\":3,\"time\":\"2025-03-01T12:00:00Z\",",
            &format!("\"prev\":\"{}\",", "07".repeat(32)),
            "\"instance\":\"bx1_test\",\"kind\":\"step\",\"key\":null,\"run\":1,\"of\":null,",
            &format!("\"script\":\"{}\",", ContentHash::of(b"script")),
            "\"jti\":\"j1\",\"step\":2,\"text\":\"click button \\\"Pay\\\"\",",
            "\"target\":{\"role\":\"button\",\"name\":\"Pay\",\"fingerprint\":\"fp\"},",
            "\"decision\":\"ask\",\"reasons\":[\"ask (script): `click` is high risk\"],",
            "\"approval\":{\"choice\":\"once\",\"at\":\"2025-03-01T12:00:05Z\"},\"result\":null}",
        ]
        .concat();
        assert_eq!(body, expected);
    }

    #[test]
    fn sealing_hashes_prev_and_body_and_signs_the_context_and_hash() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let mut e = sample();
        e.seal(&key);
        let mut h = Sha256::new();
        h.update([7u8; 32]);
        h.update(e.body().as_bytes());
        let expected: [u8; 32] = h.finalize().into();
        assert_eq!(e.hash.0, expected);
        let mut msg = b"bridle-audit-v1".to_vec();
        msg.extend_from_slice(&expected);
        assert!(key.verifying_key().verify_strict(&msg, &e.sig).is_ok());
        assert!(e.signature_valid(&key.verifying_key()));
        let other = SigningKey::from_bytes(&[2; 32]);
        assert!(!e.signature_valid(&other.verifying_key()));
        let line = e.to_line();
        assert!(line.starts_with(&e.body()[..e.body().len() - 1]));
        assert!(line.ends_with(&format!(
            ",\"hash\":\"{}\",\"sig\":\"{}\"}}",
            e.hash,
            b64url(&e.sig.to_bytes())
        )));
    }

    #[test]
    fn each_shape_rule_has_its_own_error() {
        assert_eq!(sample().check_shape(), Ok(()));
        type Case = (fn(&mut AuditEntry), ShapeError, &'static str);
        let cases: Vec<Case> = vec![
            (
                |e| e.decision = None,
                ShapeError::MissingField {
                    kind: EntryKind::Step,
                    field: "decision",
                },
                "a `step` entry needs `decision`",
            ),
            (
                |e| e.of = Some(1),
                ShapeError::ForbiddenField {
                    kind: EntryKind::Step,
                    field: "of",
                },
                "a `step` entry cannot have `of`",
            ),
            (
                |e| e.step = Some(0),
                ShapeError::StepZero,
                "step index 0 is not allowed: steps count from 1",
            ),
            (
                |e| e.text = Some(String::new()),
                ShapeError::EmptyText,
                "a step's `text` cannot be empty",
            ),
            (
                |e| e.approval = None,
                ShapeError::ApprovalMissing,
                "a step decided `ask` needs the user's `approval`",
            ),
            (
                |e| e.decision = Some(Outcome::Deny),
                ShapeError::ApprovalUnexpected {
                    decision: Outcome::Deny,
                },
                "a step decided `deny` cannot have an `approval`",
            ),
        ];
        for (edit, err, msg) in cases {
            let mut e = sample();
            edit(&mut e);
            assert_eq!(e.check_shape(), Err(err.clone()));
            assert_eq!(err.to_string(), msg);
        }
        let mut e = AuditEntry::blank(
            4,
            Timestamp::parse("2025-03-01T12:00:00Z").unwrap(),
            ChainHash([7; 32]),
            "bx1_test".into(),
            EntryKind::StepResult,
        );
        e.of = Some(3);
        e.result = Some(Completion {
            ok: true,
            error: Some("boom".into()),
            observation: None,
        });
        assert_eq!(e.check_shape(), Err(ShapeError::ResultInconsistent));
        assert_eq!(
            ShapeError::ResultInconsistent.to_string(),
            "`result.ok` must be true exactly when `result.error` is null"
        );
        e.result = Some(Completion::failed("boom", None));
        assert_eq!(e.check_shape(), Ok(()));
    }

    #[test]
    fn the_kind_table_covers_every_optional_field_of_every_kind() {
        // Each kind requires something, and every optional field is used by some kind.
        for kind in EntryKind::ALL {
            assert!(FIELDS[5..17]
                .iter()
                .any(|f| need(kind, f) == Need::Required));
        }
        for field in &FIELDS[5..17] {
            assert!(EntryKind::ALL
                .into_iter()
                .any(|k| need(k, field) != Need::Forbidden));
        }
    }

    #[test]
    fn only_allowed_or_approved_steps_act() {
        let mut e = sample();
        assert!(e.acts());
        for (choice, acts) in [
            (ApprovalChoice::Script, true),
            (ApprovalChoice::Deny, false),
            (ApprovalChoice::Timeout, false),
            (ApprovalChoice::Closed, false),
        ] {
            e.approval.as_mut().unwrap().choice = choice;
            assert_eq!(e.acts(), acts, "{choice}");
        }
        e.approval = None;
        e.decision = Some(Outcome::Allow);
        assert!(e.acts());
        e.decision = Some(Outcome::Deny);
        assert!(!e.acts());
    }
}
