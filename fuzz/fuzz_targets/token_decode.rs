//! Fuzz target: any bytes given to the token decoder and verifier yield a verified token or a
//! typed error, never a panic. The first byte picks the layer to reach:
//!
//! - even: the rest is token text, parsed and verified as it comes (limits, encoding, footer,
//!   signature);
//! - odd: the rest is a claims payload, signed with the trusted key for the fixed instance, so
//!   the claims parser, validation, time, script and replay checks all see hostile input.
//!
//! Run with `cargo fuzz run token_decode` from `fuzz/` (nightly).

#![no_main]

use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{instance_id, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{paseto, PlannerKey, UnverifiedToken, VerifyContext};
use libfuzzer_sys::fuzz_target;

fn verify(token: &str, planner: &SigningKey, instance: &str) {
    let Ok(parsed) = UnverifiedToken::parse(token) else {
        return;
    };
    let _ = parsed.claims_unverified();
    let keys = vec![PlannerKey {
        kid: key_id(&planner.verifying_key()),
        name: "fuzz-planner".to_owned(),
        public_key: planner.verifying_key(),
        max_ttl: Duration::minutes(15),
    }];
    let now =
        OffsetDateTime::from_unix_timestamp(1_748_779_200).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut store = MemoryReplayStore::with_capacity(4);
    let mut ctx = VerifyContext {
        keys: &keys,
        instance_id: instance,
        now,
        script: Some(b"bridle 1\n"),
        replay: &mut store,
    };
    // Twice: the second use exercises the replay path.
    let _ = parsed.verify(&mut ctx);
    let _ = parsed.verify(&mut ctx);
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let planner = SigningKey::from_bytes(&[0x11; 32]);
    let instance = instance_id(&SigningKey::from_bytes(&[0x22; 32]).verifying_key());
    if mode % 2 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            verify(text, &planner, &instance);
        }
    } else {
        let footer = format!("{{\"kid\":\"{}\"}}", key_id(&planner.verifying_key()));
        let token = paseto::sign(rest, footer.as_bytes(), instance.as_bytes(), &planner);
        verify(&token, &planner, &instance);
    }
});
