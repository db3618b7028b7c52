//! The instance as the service worker uses it: first run, restart from storage, policies,
//! runs with real tokens, the audit log and the replay store across restarts.

use super::*;
use crate::report::{RunOutcome, NOT_EXECUTED_CODE, NOT_EXECUTED_MESSAGE};
use crate::testkit::{self, fixed_key, policy_toml, T0};
use bridle_dsl::Verb;
use bridle_executor::audit::{verify_log, KeyPin};
use bridle_executor::time::macros::datetime;
use bridle_executor::time::Duration;

const SCRIPT: &str = "bridle 1\n\
goal \"Find cables\"\n\
origins \"https://shop.example\"\n\
\n\
navigate \"https://shop.example/search\"\n\
click button \"Search\"\n\
click button \"Buy now\"\n";

fn now(at: OffsetDateTime) -> Now {
    testkit::now_at(at)
}

fn token_for(instance: &Instance, jti: &str, script: &str, at: OffsetDateTime) -> String {
    testkit::token_at(
        instance,
        jti,
        script,
        &["https://shop.example"],
        &[Verb::Navigate, Verb::Click],
        at,
    )
}

/// A fresh instance with the test policy set, its state saved the way the service worker
/// saves it.
fn fresh() -> (Instance, Stored) {
    let mut instance = Instance::load(Stored::default(), &now(T0), || fixed_key(1)).unwrap();
    assert!(instance.set_policy(&policy_toml(), &now(T0)).ok);
    let stored = save(&mut instance, Stored::default());
    (instance, stored)
}

/// What background.ts does after every call.
fn save(instance: &mut Instance, mut stored: Stored) -> Stored {
    stored.secret_key = Some(instance.secret_key());
    stored.policy = (!instance.policy_is_default()).then(|| instance.policy_text().to_owned());
    stored.replay = Some(instance.replay_state());
    let mut log = stored.audit_log.take().unwrap_or_default();
    for line in instance.take_audit_lines() {
        log.push_str(&line);
        log.push('\n');
    }
    stored.audit_log = Some(log);
    stored
}

#[test]
fn first_run_generates_a_key_and_a_restart_keeps_the_same_instance() {
    let mut generated = 0;
    let mut first = Instance::load(Stored::default(), &now(T0), || {
        generated += 1;
        fixed_key(1)
    })
    .unwrap();
    assert_eq!(generated, 1);
    assert!(first.key_is_new());
    assert!(first.instance_id().starts_with("bx1_"));
    assert_eq!(first.instance_id().len(), 4 + 32);
    assert!(first.policy_is_default());
    assert_eq!(first.policy_text(), DEFAULT_POLICY_TOML);
    let stored = save(&mut first, Stored::default());

    let second = Instance::load(stored, &now(T0 + Duration::hours(1)), || {
        unreachable_generate()
    })
    .unwrap();
    assert!(!second.key_is_new());
    assert_eq!(second.instance_id(), first.instance_id());
    assert_eq!(second.public_key(), first.public_key());
}

/// Stands for a key generator that must not be called.
fn unreachable_generate() -> SigningKey {
    panic!("a stored key must not be regenerated")
}

#[test]
fn a_damaged_stored_key_is_refused_rather_than_replaced() {
    let stored = Stored {
        secret_key: Some("not base64!".into()),
        ..Stored::default()
    };
    let err = Instance::load(stored, &now(T0), unreachable_generate).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the stored instance key cannot be read: secret key is not base64url without padding"
    );
}

#[test]
fn an_invalid_policy_is_refused_with_its_line_and_changes_nothing() {
    let (mut instance, _) = fresh();
    let before = instance.policy_text().to_owned();
    let report = instance.set_policy("[defaults]\napproval = \"sometimes\"\n", &now(T0));
    assert!(!report.ok);
    assert_eq!(report.diagnostics.len(), 1);
    let d = &report.diagnostics[0];
    assert_eq!((d.line, d.column), (2, 12));
    assert_eq!(d.path, "defaults.approval");
    assert_eq!(d.message, "unknown approval threshold `sometimes`");
    assert!(
        report
            .message
            .starts_with("policy.toml:2:12: error: unknown approval threshold `sometimes`"),
        "{}",
        report.message
    );
    assert_eq!(instance.policy_text(), before);
    assert!(instance.take_audit_lines().is_empty());
}

#[test]
fn a_policy_that_no_longer_validates_falls_back_to_the_default_with_a_warning() {
    let (_, mut stored) = fresh();
    stored.policy = Some("[defaults]\nnot_a_key = 1\n".into());
    let instance = Instance::load(stored, &now(T0), unreachable_generate).unwrap();
    assert!(instance.policy_is_default());
    assert_eq!(instance.warnings().len(), 1);
    assert_eq!(
        instance.warnings(),
        ["the stored policy is no longer valid (policy.toml:2:1: unknown key `not_a_key` in `defaults`); \
          the default policy, which trusts no planner, is in use until a policy is set again"]
    );
}

#[test]
fn a_run_decides_every_step_and_says_nothing_was_executed() {
    let (mut instance, _) = fresh();
    let token = token_for(&instance, "jti-run-1", SCRIPT, T0);
    let result = instance.run(SCRIPT, &token, &now(T0 + Duration::seconds(1)));
    assert_eq!(result.outcome, RunOutcome::NotExecuted);
    let error = result.error.as_ref().unwrap();
    assert_eq!(error.code, NOT_EXECUTED_CODE);
    assert_eq!(error.message, NOT_EXECUTED_MESSAGE);
    assert!(result.token.valid);
    assert_eq!(result.goal.as_deref(), Some("Find cables"));
    assert!(result.steps.is_empty());
    assert_eq!(result.steps_done, 0);
    let plan: Vec<_> = result
        .plan
        .iter()
        .map(|s| (s.index, s.line, s.verb, s.decision))
        .collect();
    assert_eq!(
        plan,
        [
            (1, 5, "navigate", "allow"),
            (2, 6, "click", "allow"),
            // "buy" is a sensitive word: high risk, and the default policy asks at high.
            (3, 7, "click", "ask"),
        ]
    );
    assert_eq!(result.plan[2].risk, "high");
    assert!(!result.plan[2].reasons.is_empty());
}

#[test]
fn a_token_runs_once_even_across_a_restart() {
    let (mut instance, stored) = fresh();
    let token = token_for(&instance, "jti-once", SCRIPT, T0);
    let first = instance.run(SCRIPT, &token, &now(T0));
    assert_eq!(first.outcome, RunOutcome::NotExecuted);
    let stored = save(&mut instance, stored);

    let mut restarted = Instance::load(stored, &now(T0), unreachable_generate).unwrap();
    let again = restarted.run(SCRIPT, &token, &now(T0 + Duration::seconds(2)));
    assert_eq!(again.outcome, RunOutcome::Refused);
    assert_eq!(again.token.code, Some("replayed"));
    let error = again.error.unwrap();
    assert_eq!(error.code, "replayed");
    assert_eq!(
        error.message,
        "token `jti-once` has already been used 1 time(s)"
    );
    // The refused run's plan denies every step, naming the token.
    assert!(again.plan.iter().all(|s| s.decision == "deny"));
    assert_eq!(
        again.plan[0].reasons,
        ["deny (token): the token is invalid: token `jti-once` has already been used 1 time(s)"]
    );
}

#[test]
fn a_token_for_another_script_or_instance_is_refused() {
    let (mut instance, _) = fresh();
    let other_script = SCRIPT.replace("Search", "Find");
    let token = token_for(&instance, "jti-a", &other_script, T0);
    let result = instance.run(SCRIPT, &token, &now(T0));
    assert_eq!(result.outcome, RunOutcome::Refused);
    assert_eq!(result.token.code, Some("script-mismatch"));

    let stranger = Instance::load(Stored::default(), &now(T0), || fixed_key(2)).unwrap();
    let foreign = token_for(&stranger, "jti-b", SCRIPT, T0);
    let result = instance.run(SCRIPT, &foreign, &now(T0));
    // The instance id is signed as the implicit assertion, so a token minted for another
    // instance fails its signature here before its `aud` is even read.
    assert_eq!(result.outcome, RunOutcome::Refused);
    assert_eq!(result.token.code, Some("bad-signature"));
}

#[test]
fn a_script_that_does_not_check_is_refused_with_json_diagnostics() {
    let (mut instance, _) = fresh();
    let script = "bridle 1\ngoal \"x\"\norigins \"https://shop.example\"\n\nclick\n";
    let token = token_for(&instance, "jti-bad-script", script, T0);
    let result = instance.run(script, &token, &now(T0));
    assert_eq!(result.outcome, RunOutcome::Refused);
    assert_eq!(result.error.as_ref().unwrap().code, "script-invalid");
    assert!(!result.script.ok);
    let first = &result.script.diagnostics[0];
    assert_eq!(first["file"], "script.bridle");
    assert_eq!(first["line"], 5);
    assert!(result.plan.is_empty());
    // The same report without running.
    assert_eq!(instance.check_script(script), result.script);
}

#[test]
fn every_run_is_in_the_audit_log_which_verifies_and_continues_after_a_restart() {
    let (mut instance, stored) = fresh();
    let token = token_for(&instance, "jti-audit", SCRIPT, T0);
    instance.run(SCRIPT, &token, &now(T0));
    let stored = save(&mut instance, stored);
    let mut restarted = Instance::load(stored.clone(), &now(T0), unreachable_generate).unwrap();
    restarted.run(SCRIPT, &token, &now(T0)); // refused as a replay: logged too
    let stored = save(&mut restarted, stored);
    let log = stored.audit_log.unwrap();
    let kinds: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "\"log-start\"",
            "\"note\"",
            "\"run-start\"",
            "\"run-end\"",
            "\"run-start\"",
            "\"run-end\"",
        ]
    );
    assert!(log.contains("\"error\":\"not-executed\""));
    assert!(log.contains("\"error\":\"replayed\""));
    let report = verify_log(
        log.as_bytes(),
        &KeyPin::Instance(instance.instance_id().to_owned()),
    )
    .unwrap();
    assert_eq!(report.entries, 6);
}

#[test]
fn a_tampered_audit_log_stops_the_instance_from_loading() {
    let (mut instance, stored) = fresh();
    let stored = save(&mut instance, stored);
    let mut tampered = stored.clone();
    tampered.audit_log = Some(
        stored
            .audit_log
            .unwrap()
            .replace("policy set", "policy SET"),
    );
    let err = Instance::load(tampered, &now(T0), unreachable_generate).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the stored audit log cannot be continued: "),
        "{err}"
    );
}

#[test]
fn browser_clock_values_outside_the_log_format_are_refused() {
    assert_eq!(
        Now::from_millis(1_748_772_000_000.0).unwrap().datetime(),
        datetime!(2025-06-01 10:00 UTC)
    );
    assert_eq!(
        Now::from_millis(f64::NAN).unwrap_err().to_string(),
        "the clock reads `NaN` ms since 1970, which is not a time between the years 0000 and 9999"
    );
    // 10000-01-01 is the first instant RFC 3339 cannot write.
    assert!(Now::from_millis(253_402_300_800_000.0).is_err());
    assert!(Now::from_millis(253_402_300_799_999.0).is_ok());
}
