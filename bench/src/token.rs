//! Full capability-token verification (envelope parse, footer, limits, signature, claims, time,
//! script hash, replay store) against a bare Ed25519 `verify_strict` of the same signed bytes
//! (goal: at most 1.3×). Whatever the token layer adds on top of the one signature check is the
//! ratio's excess.

use crate::timing::{median_per_call, report};
use bridle_dsl::Verb;
use bridle_executor::ed25519_dalek::{Signature, SigningKey};
use bridle_executor::keys::{instance_id, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{
    mint, Claims, Grant, MaxAmount, PlannerKey, ScriptHash, UnverifiedToken, VerifyContext,
};
use std::time::{Duration as Elapsed, Instant};

const SCRIPT: &[u8] = b"bridle 1\ngoal \"Buy a cable\"\norigins \"https://shop.example\"\nnavigate \"https://shop.example/search?q=usb-c\"\nclick button \"Add to cart\"\nsubmit button \"Place order\"\n";

/// A realistic token: two grants (browsing with an amount ceiling, and a job), bound to the
/// script.
fn claims(instance: &str, now: OffsetDateTime) -> Result<Claims, String> {
    Ok(Claims {
        v: 1,
        iss: "shop-planner".to_owned(),
        aud: instance.to_owned(),
        iat: now,
        nbf: now,
        exp: now + Duration::minutes(5),
        jti: "Yw3k9Qx2bV7nL1pZ8rT4sA".to_owned(),
        uses: 1,
        script: Some(ScriptHash::of(SCRIPT)),
        grants: vec![
            Grant {
                origins: Some(vec![
                    "https://shop.example".to_owned(),
                    "https://*.pay.example".to_owned(),
                ]),
                paths: Some(vec!["/search*".to_owned(), "/checkout/*".to_owned()]),
                verbs: Some(vec![Verb::Navigate, Verb::Click, Verb::Fill, Verb::Submit]),
                max_steps: Some(50),
                max_amount: Some(MaxAmount {
                    currency: "EUR".to_owned(),
                    value: 20.0,
                }),
                secrets: Some(vec!["visa-personal".to_owned()]),
                ..Grant::default()
            },
            Grant {
                runtimes: Some(vec!["python3".to_owned()]),
                cpu: Some(1.0),
                memory: Some("256MB".parse()?),
                network: Some(false),
                ..Grant::default()
            },
        ],
    })
}

pub fn run() -> Result<(), String> {
    let planner = SigningKey::from_bytes(&[0x11; 32]);
    let instance = instance_id(&SigningKey::from_bytes(&[0x22; 32]).verifying_key());
    let kid = key_id(&planner.verifying_key());
    let now = OffsetDateTime::from_unix_timestamp(1_748_779_200).map_err(|e| e.to_string())?;
    let token =
        mint(&claims(&instance, now)?, &kid, &planner, &instance).map_err(|e| e.to_string())?;
    let keys = vec![PlannerKey {
        kid,
        name: "shop-planner".to_owned(),
        public_key: planner.verifying_key(),
        max_ttl: Duration::minutes(15),
    }];

    // Full verification, each time with a fresh replay store so the single-use token is
    // accepted again (recording the use is part of the measured work).
    let full = || {
        let parsed = UnverifiedToken::parse(&token)?;
        let mut store = MemoryReplayStore::new();
        let mut ctx = VerifyContext {
            keys: &keys,
            instance_id: &instance,
            now,
            script: Some(SCRIPT),
            replay: &mut store,
        };
        parsed.verify(&mut ctx)
    };
    full().map_err(|e| format!("the benchmark token does not verify: {e}"))?;

    // The baseline: one strict Ed25519 verification of exactly the bytes the token signs.
    let parsed = UnverifiedToken::parse(&token).map_err(|e| e.to_string())?;
    let signed = parsed.signed_bytes(&instance);
    let signature = Signature::from_bytes(parsed.signature());
    let public = planner.verifying_key();
    public
        .verify_strict(&signed, &signature)
        .map_err(|e| format!("the baseline does not verify: {e}"))?;

    println!(
        "token: {} bytes of token, {} bytes signed, 2 grants, script-bound",
        token.len(),
        signed.len()
    );
    // Rounds alternate between the two, so load that comes and goes on a shared machine hits
    // both alike; each side's median is then taken over its rounds.
    let (ours, baseline) = interleaved(21, 200, full, || public.verify_strict(&signed, &signature));
    report("full token verify", ours, "bare verify_strict", baseline);
    // Where the rest goes, for whoever tunes it.
    let parse = median_per_call(15, 2_000, || UnverifiedToken::parse(&token));
    let claims = median_per_call(15, 2_000, || parsed.claims_unverified());
    println!(
        "  of which parse (limits, base64, footer, scan): {:.1} µs; claims JSON + validation: {:.1} µs",
        parse.as_secs_f64() * 1e6,
        claims.as_secs_f64() * 1e6
    );
    Ok(())
}

/// Median time per call of `a` and of `b`, over `rounds` rounds that each time `iters` calls of
/// `a` then `iters` calls of `b`, after one warm-up round.
fn interleaved<A, B>(
    rounds: usize,
    iters: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> (Elapsed, Elapsed) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed() / iters.max(1) as u32
    };
    let mut call_a = || {
        std::hint::black_box(a());
    };
    let mut call_b = || {
        std::hint::black_box(b());
    };
    time(&mut call_a);
    time(&mut call_b);
    let mut sa = Vec::with_capacity(rounds);
    let mut sb = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        sa.push(time(&mut call_a));
        sb.push(time(&mut call_b));
    }
    sa.sort();
    sb.sort();
    (sa[rounds / 2], sb[rounds / 2])
}
