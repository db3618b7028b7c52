//! The whole policy enforcement point in one run, with nothing stubbed but the page: a
//! script checked by the language, a token minted and verified, the real decision function
//! over the user's policy, the step engine, approvals, and the signed audit log, which must
//! verify afterwards — and must never contain the secret that was typed.

#[cfg(test)]
#[path = "engine/harness.rs"]
#[expect(
    dead_code,
    reason = "the engine suite's harness; this suite uses its page, approver and clock only"
)]
mod harness;

use bridle_executor::audit::{
    verify_log, AuditStore, AuditWriter, KeyPin, MemoryAuditStore, Timestamp,
};
use bridle_executor::decide::Context;
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::engine::*;
use bridle_executor::keys::{encode_public_key, instance_id, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::Duration;
use bridle_executor::token::{mint, Claims, Grant, ScriptHash, UnverifiedToken, VerifyContext};
use bridle_executor::Policy;
use harness::*;

/// The card number in the fake vault: only the actuator ever sees it.
const VAULT_VALUE: &str = "4111 1111 1111 1111";

const SCRIPT: &str = r#"bridle 1
goal "Buy a cable"
origins "https://shop.example"
secret card = "visa-personal"
click button "Add to cart"
fill textbox "Card number" with card
submit button "Place order"
"#;

struct Outcome {
    result: RunResult,
    log: String,
    approvals_asked: usize,
}

fn run_pipeline(
    policy_rules: &str,
    grant: serde_json::Value,
    approve: &[ApprovalChoice],
) -> Outcome {
    let planner = SigningKey::from_bytes(&[7; 32]);
    let instance_key = SigningKey::from_bytes(&[9; 32]);
    let instance = instance_id(&instance_key.verifying_key());
    let kid = key_id(&planner.verifying_key());
    let policy = Policy::from_toml(&format!(
        "[[planner]]\nname = \"p\"\nkid = \"{kid}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n{policy_rules}",
        encode_public_key(&planner.verifying_key())
    ))
    .unwrap();
    let now = FixedClock.now();
    let claims = Claims {
        v: 1,
        iss: "p".to_owned(),
        aud: instance.clone(),
        iat: now,
        nbf: now,
        exp: now + Duration::minutes(5),
        jti: "pipeline".to_owned(),
        uses: 1,
        script: Some(ScriptHash::of(SCRIPT.as_bytes())),
        grants: vec![serde_json::from_value::<Grant>(grant).unwrap()],
    };
    let token = mint(&claims, &kid, &planner, &instance).unwrap();
    let mut replay = MemoryReplayStore::new();
    let verified = UnverifiedToken::parse(&token)
        .unwrap()
        .verify(&mut VerifyContext {
            keys: &policy,
            instance_id: &instance,
            now,
            script: Some(SCRIPT.as_bytes()),
            replay: &mut replay,
        })
        .unwrap();
    let checked = bridle_dsl::check_bytes(
        SCRIPT.as_bytes(),
        &bridle_dsl::CheckOptions {
            risk: policy.risk_options(),
        },
    )
    .unwrap();
    let pep = Context::new(&checked, &verified, &policy);

    let mut page = FakePage::new(vec![
        el("button", "Add to cart"),
        el("textbox", "Card number"),
        el("button", "Place order"),
    ]);
    page.vault
        .insert("visa-personal".to_owned(), VAULT_VALUE.to_owned());
    let mut approver = ScriptedApprover::answering(approve);
    let mut jobs = EchoJobs::default();
    let mut writer = AuditWriter::open(
        MemoryAuditStore::new(),
        Timestamp::new(now).unwrap(),
        &instance_key,
    )
    .unwrap();
    let mut cursor = AuditCursor::default();
    let inputs = RunInputs {
        script_hash: ScriptHash::of(SCRIPT.as_bytes()).to_string(),
        jti: Some(verified.jti().to_owned()),
        ..RunInputs::default()
    };
    let result = {
        let mut audit = ChainSink {
            writer: &mut writer,
            signer: &instance_key,
            clock: &FixedClock,
            cursor: &mut cursor,
        };
        let mut drivers = Drivers {
            page: &mut page,
            approver: &mut approver,
            pep: &pep,
            audit: &mut audit,
            jobs: &mut jobs,
        };
        run_sync(&checked, inputs, &mut drivers)
    };
    let log = writer.store().export().unwrap();
    let report = verify_log(log.as_bytes(), &KeyPin::Instance(instance)).unwrap();
    assert!(report.open_steps.is_empty(), "{log}");
    Outcome {
        result,
        log,
        approvals_asked: approver.requests.len(),
    }
}

fn grant_all() -> serde_json::Value {
    serde_json::json!({"origins": ["https://shop.example"],
        "verbs": ["click", "fill", "submit"], "secrets": ["visa-personal"]})
}

#[test]
fn approved_run_completes_and_its_log_verifies() {
    // The secret fill and the submit are high-risk: both ask; the click does not.
    let out = run_pipeline(
        "",
        grant_all(),
        &[ApprovalChoice::Once, ApprovalChoice::Once],
    );
    assert_eq!(
        out.result.outcome,
        RunOutcome::Completed,
        "{:?}",
        out.result
    );
    assert_eq!(out.approvals_asked, 2);
    let decisions: Vec<_> = out.result.steps.iter().map(|s| s.decision).collect();
    use bridle_executor::decision::Outcome::{Allow, Ask};
    assert_eq!(decisions, [Some(Allow), Some(Ask), Some(Ask)]);
    // The vault value lives only in the fake actuator: not in the log, not in the result.
    assert!(!out.log.contains(VAULT_VALUE), "{}", out.log);
    let result = serde_json::to_string(&out.result).unwrap();
    assert!(!result.contains(VAULT_VALUE), "{result}");
}

#[test]
fn a_denial_by_the_user_stops_before_the_submit() {
    let out = run_pipeline(
        "",
        grant_all(),
        &[ApprovalChoice::Once, ApprovalChoice::Deny],
    );
    assert_eq!(out.result.outcome, RunOutcome::Denied);
    let error = serde_json::to_value(out.result.error.as_ref().unwrap()).unwrap();
    assert_eq!(error["code"], "not-approved");
    assert_eq!(error["step"], 3);
}

#[test]
fn the_policy_denies_what_the_token_grants() {
    let out = run_pipeline(
        "[[site]]\norigin = \"https://shop.example\"\ndeny = [\"submit\"]\n",
        grant_all(),
        &[ApprovalChoice::Once],
    );
    assert_eq!(out.result.outcome, RunOutcome::Denied, "{:?}", out.result);
    let last = out.result.steps.last().unwrap();
    assert_eq!(last.index, 3);
    assert!(
        last.reasons.iter().any(|r| r.contains("denies it")),
        "{:?}",
        last.reasons
    );
}

#[test]
fn a_token_without_the_secret_cannot_fill_it() {
    let grant = serde_json::json!({"origins": ["https://shop.example"],
        "verbs": ["click", "fill", "submit"]});
    let out = run_pipeline("", grant, &[]);
    assert_eq!(out.result.outcome, RunOutcome::Denied);
    assert_eq!(
        out.approvals_asked, 0,
        "a denied step never reaches the user"
    );
    assert_eq!(out.result.steps.last().unwrap().index, 2);
}
