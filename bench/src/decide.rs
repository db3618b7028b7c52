//! Decisions per second: every step of a 100-step script decided against a token and a
//! policy (goal: under 5 µs per step natively). The baseline in the same process is
//! verifying the script's token once, the work a run does anyway before its first decision.

use crate::timing::{median_per_call, report};
use bridle_executor::decide::{decide, Context};
use bridle_executor::decision::{Facts, Outcome};
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_public_key, instance_id, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{mint, Claims, Grant, ScriptHash, UnverifiedToken, VerifyContext};
use bridle_executor::Policy;

pub fn run() -> Result<(), String> {
    let script = crate::dsl::script_with_steps(100);
    let planner = SigningKey::from_bytes(&[7u8; 32]);
    let instance = instance_id(&SigningKey::from_bytes(&[9u8; 32]).verifying_key());
    let kid = key_id(&planner.verifying_key());
    let policy_text = format!(
        "[[planner]]\nname = \"bench\"\nkid = \"{kid}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n\
         [[site]]\norigin = \"https://shop.example\"\nallow = [\"navigate\", \"click\", \"fill\", \"select\", \"check\", \"hover\", \"scroll to\"]\n\n\
         [[site]]\norigin = \"https://pay.example\"\nask = [\"fill\"]\n",
        encode_public_key(&planner.verifying_key())
    );
    let policy = Policy::from_toml(&policy_text).map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    let grants: Vec<Grant> = serde_json::from_value(serde_json::json!([{
        "origins": ["https://shop.example", "https://pay.example"],
        "verbs": ["navigate", "click", "fill", "select", "check", "hover", "scroll to"],
        "secrets": ["visa-personal"],
    }]))
    .map_err(|e| e.to_string())?;
    let claims = Claims {
        v: 1,
        iss: "bench".to_owned(),
        aud: instance.clone(),
        iat: now,
        nbf: now,
        exp: now + Duration::minutes(10),
        jti: "bench".to_owned(),
        uses: 1000,
        script: Some(ScriptHash::of(script.as_bytes())),
        grants,
    };
    let token = mint(&claims, &kid, &planner, &instance).map_err(|e| e.to_string())?;
    let options = bridle_dsl::CheckOptions {
        risk: policy.risk_options(),
    };
    let checked = bridle_dsl::check_bytes(script.as_bytes(), &options)
        .map_err(|d| format!("{:?}", d.first().map(|d| &d.message)))?;
    let mut replay = MemoryReplayStore::new();
    let verify = |replay: &mut MemoryReplayStore| {
        UnverifiedToken::parse(&token).and_then(|t| {
            t.verify(&mut VerifyContext {
                keys: &policy,
                instance_id: &instance,
                now,
                script: Some(script.as_bytes()),
                replay,
            })
        })
    };
    let verified = verify(&mut replay).map_err(|e| e.to_string())?;
    let ctx = Context::new(&checked, &verified, &policy);
    // Decisions with page facts, as just before each step of a run.
    let facts: Vec<Facts> = checked
        .steps
        .iter()
        .map(|_| Facts {
            url: Some("https://shop.example/search?q=cable".to_owned()),
            ..Facts::default()
        })
        .collect();
    let denied = checked
        .steps
        .iter()
        .zip(&facts)
        .filter(|(s, f)| {
            let d = decide(&ctx, s, f);
            if std::env::var_os("BENCH_VERBOSE").is_some() && d.outcome == Outcome::Deny {
                eprintln!("{}: {:?}", s.text, d.reason_texts());
            }
            d.outcome == Outcome::Deny
        })
        .count();
    println!(
        "decide: {}-step script, {} steps denied in the sample run",
        checked.steps.len(),
        denied
    );
    let all = median_per_call(15, 50, || {
        checked
            .steps
            .iter()
            .zip(&facts)
            .map(|(s, f)| decide(&ctx, s, f).reasons.len())
            .sum::<usize>()
    });
    let per_step = all / checked.steps.len() as u32;
    let baseline = median_per_call(15, 50, || verify(&mut replay).is_ok());
    println!(
        "decide: {:.2} µs per step ({:.0} decisions per second; goal under 5 µs)",
        per_step.as_secs_f64() * 1e6,
        1.0 / per_step.as_secs_f64()
    );
    report("decide 100 steps", all, "one token verification", baseline);
    Ok(())
}
