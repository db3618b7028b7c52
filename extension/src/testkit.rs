//! What the extension's tests share: a fixed clock, the test planner's key, an instance that
//! trusts it, and the tokens it mints for a script.

use crate::instance::{Instance, Now, Stored};
use bridle_dsl::Verb;
use bridle_executor::audit::{verify_log, AuditStore, KeyPin, VerifyReport};
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_public_key, key_id};
use bridle_executor::time::macros::datetime;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{mint, Claims, Grant, ScriptHash};

/// The tests' "now".
pub const T0: OffsetDateTime = datetime!(2025-06-01 10:00 UTC);

pub fn now_at(at: OffsetDateTime) -> Now {
    Now::new(at).unwrap()
}

pub fn now() -> Now {
    now_at(T0)
}

/// A key made of one repeated byte.
pub fn fixed_key(byte: u8) -> SigningKey {
    SigningKey::from_bytes(&[byte; 32])
}

/// The test planner's key.
pub fn planner() -> SigningKey {
    fixed_key(9)
}

/// A policy trusting the test planner for tokens of up to 15 minutes.
pub fn policy_toml() -> String {
    let public = planner().verifying_key();
    format!(
        "[[planner]]\nname = \"test-planner\"\nkid = \"{}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n",
        key_id(&public),
        encode_public_key(&public)
    )
}

/// A fresh instance (key byte 1) with [`policy_toml`] set.
pub fn instance() -> Instance {
    let mut instance = Instance::load(Stored::default(), &now(), || fixed_key(1)).unwrap();
    assert!(instance.set_policy(&policy_toml(), &now()).ok);
    instance
}

/// A one-use token for `instance` from the test planner, bound to `script`, issued at `at`
/// with a grant of `verbs` on `origins`.
pub fn token_at(
    instance: &Instance,
    jti: &str,
    script: &str,
    origins: &[&str],
    verbs: &[Verb],
    at: OffsetDateTime,
) -> String {
    let claims = Claims {
        v: 1,
        iss: "test-planner".into(),
        aud: instance.instance_id().to_owned(),
        iat: at,
        nbf: at,
        exp: at + Duration::minutes(5),
        jti: jti.into(),
        uses: 1,
        script: Some(ScriptHash::of(script.as_bytes())),
        grants: vec![Grant {
            origins: Some(origins.iter().map(|o| (*o).to_owned()).collect()),
            verbs: Some(verbs.to_vec()),
            ..Grant::default()
        }],
    };
    mint(
        &claims,
        &key_id(&planner().verifying_key()),
        &planner(),
        instance.instance_id(),
    )
    .unwrap()
}

/// [`token_at`] issued at [`T0`].
pub fn token(
    instance: &Instance,
    jti: &str,
    script: &str,
    origins: &[&str],
    verbs: &[Verb],
) -> String {
    token_at(instance, jti, script, origins, verbs, T0)
}

/// The instance's audit log as JSON Lines, verified against the instance's own key (the test
/// fails otherwise), and how many entries it has.
pub fn verified_log(instance: &Instance) -> (String, u64) {
    let (log, report) = verified(instance);
    (log, report.entries)
}

/// The instance's audit log as JSON Lines and its verification report (the test fails when
/// the log does not verify against the instance's own key).
pub fn verified(instance: &Instance) -> (String, VerifyReport) {
    let log: String = instance
        .audit
        .store()
        .lines()
        .unwrap()
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let report = verify_log(
        log.as_bytes(),
        &KeyPin::Instance(instance.instance_id().to_owned()),
    )
    .unwrap();
    (log, report)
}
