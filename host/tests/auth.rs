//! Job authorisation: the refusals a hostile or mistaken caller meets before any sandbox
//! starts — another instance's token, a replayed token, a wrong key, grants and policy
//! ceilings — and the limits an accepted job gets.

#[cfg(test)]
mod common;

use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::OffsetDateTime;
use bridle_host::auth::{authorize, JobRequest, Refusal, ReplayFile};
use bridle_host::job::Tier;
use common::*;
use std::time::Duration;

fn request(token: String) -> JobRequest {
    JobRequest {
        token,
        runtime: "python3".into(),
        code: b"print(1)".to_vec(),
        tier: Some(Tier::Container),
        ..JobRequest::default()
    }
}

fn check(f: &Fixture, r: &JobRequest) -> Result<bridle_host::job::JobSpec, Refusal> {
    authorize(
        r,
        &f.policy,
        INSTANCE,
        OffsetDateTime::now_utc(),
        &mut MemoryReplayStore::new(),
    )
}

fn code_of(r: Result<bridle_host::job::JobSpec, Refusal>) -> String {
    match r {
        Ok(_) => "accepted".into(),
        Err(e) => e.code(),
    }
}

#[test]
fn a_valid_token_gets_the_policy_limits() {
    let f = Fixture::new(JOBS_CONTAINER);
    let spec = check(&f, &request(f.token(vec![job_grant(&["python3"])]))).unwrap();
    assert_eq!(spec.tier, Tier::Container);
    assert_eq!(spec.limits.memory, 256 << 20);
    assert_eq!(spec.limits.wall, Duration::from_secs(10));
    assert_eq!(spec.limits.output, 1 << 20);
    assert!(!spec.network);
}

#[test]
fn a_token_for_another_instance_is_refused() {
    let f = Fixture::new(JOBS_CONTAINER);
    let token = f.token_for("another-instance", vec![job_grant(&["python3"])], 1);
    assert_eq!(code_of(check(&f, &request(token))), "token-bad-signature");
}

#[test]
fn a_replayed_token_is_refused() {
    let f = Fixture::new(JOBS_CONTAINER);
    let r = request(f.token(vec![job_grant(&["python3"])]));
    let mut replay = MemoryReplayStore::new();
    let now = OffsetDateTime::now_utc();
    assert!(authorize(&r, &f.policy, INSTANCE, now, &mut replay).is_ok());
    let again = authorize(&r, &f.policy, INSTANCE, now, &mut replay);
    assert_eq!(code_of(again), "token-replayed");
}

#[test]
fn a_replay_is_caught_across_processes_through_the_state_file() {
    let f = Fixture::new(JOBS_CONTAINER);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.json");
    let r = request(f.token(vec![job_grant(&["python3"])]));
    let now = OffsetDateTime::now_utc();
    // Two stores on the same file stand for two `bridle host` processes.
    let first = authorize(&r, &f.policy, INSTANCE, now, &mut ReplayFile::new(&path));
    assert!(first.is_ok());
    let second = authorize(&r, &f.policy, INSTANCE, now, &mut ReplayFile::new(&path));
    assert_eq!(code_of(second), "token-replayed");
}

#[test]
fn a_token_signed_by_an_untrusted_key_is_refused() {
    let trusted = Fixture::new(JOBS_CONTAINER);
    let stranger = Fixture::with_key([9u8; 32], JOBS_CONTAINER);
    let token = stranger.token(vec![job_grant(&["python3"])]);
    assert_eq!(
        code_of(check(&trusted, &request(token))),
        "token-unknown-key"
    );
}

#[test]
fn a_tampered_token_is_refused() {
    let f = Fixture::new(JOBS_CONTAINER);
    let mut token = f.token(vec![job_grant(&["python3"])]);
    // Flip a character of the payload.
    let i = "v4.public.".len() + 5;
    let c = if &token[i..=i] == "A" { "B" } else { "A" };
    token.replace_range(i..=i, c);
    assert!(code_of(check(&f, &request(token))).starts_with("token-"));
}

#[test]
fn a_missing_or_garbage_token_is_refused() {
    let f = Fixture::new(JOBS_CONTAINER);
    assert!(code_of(check(&f, &request(String::new()))).starts_with("token-"));
    assert!(code_of(check(&f, &request("v4.public.garbage".into()))).starts_with("token-"));
}

#[test]
fn a_token_without_a_job_grant_is_refused() {
    let f = Fixture::new(JOBS_CONTAINER);
    let grant = serde_json::from_value(serde_json::json!({"verbs": ["click"]})).unwrap();
    assert_eq!(
        code_of(check(&f, &request(f.token(vec![grant])))),
        "no-job-grant"
    );
    // A grant with no verb list covers page actions, never jobs.
    let grant =
        serde_json::from_value(serde_json::json!({"origins": ["https://a.example"]})).unwrap();
    assert_eq!(
        code_of(check(&f, &request(f.token(vec![grant])))),
        "no-job-grant"
    );
}

#[test]
fn the_grant_bounds_runtime_tier_memory_cpu_and_network() {
    let f = Fixture::new(&JOBS_CONTAINER.replace("network = false", "network = true"));
    let token = || f.token(vec![job_grant(&["sh"])]);
    assert_eq!(code_of(check(&f, &request(token()))), "runtime");

    let microvm_only = serde_json::from_value(serde_json::json!(
        {"verbs": ["job"], "runtimes": ["python3"], "sandbox": "microvm"}
    ))
    .unwrap();
    assert_eq!(
        code_of(check(&f, &request(f.token(vec![microvm_only])))),
        "tier"
    );

    let small = serde_json::from_value(serde_json::json!(
        {"verbs": ["job"], "runtimes": ["python3"], "memory": "64MB", "cpu": 0.5}
    ))
    .unwrap();
    let mut r = request(f.token(vec![small]));
    r.memory = Some(128 << 20);
    assert_eq!(code_of(check(&f, &r)), "memory");

    let mut r = request(f.token(vec![job_grant(&["python3"])]));
    r.network = true;
    assert_eq!(
        code_of(check(&f, &r)),
        "network",
        "the grant does not say network"
    );
}

#[test]
fn the_policy_bounds_every_request() {
    let f = Fixture::new(JOBS_CONTAINER);
    let t = || f.token(vec![job_grant(&["python3", "node"])]);
    let mut r = request(t());
    r.runtime = "node".into();
    assert_eq!(code_of(check(&f, &r)), "runtime");
    let mut r = request(t());
    r.memory = Some(1 << 30);
    assert_eq!(code_of(check(&f, &r)), "memory");
    let mut r = request(t());
    r.timeout = Some(Duration::from_secs(31));
    assert_eq!(code_of(check(&f, &r)), "wall");
    let mut r = request(t());
    r.cpu = Some(2.0);
    assert_eq!(code_of(check(&f, &r)), "cpu");
    let mut r = request(t());
    r.network = true;
    assert_eq!(code_of(check(&f, &r)), "network");

    let microvm_floor =
        Fixture::new(&JOBS_CONTAINER.replace("min_tier = \"container\"", "min_tier = \"microvm\""));
    let r = request(microvm_floor.token(vec![job_grant(&["python3"])]));
    assert_eq!(code_of(check(&microvm_floor, &r)), "tier");

    let off = Fixture::new("");
    let r = request(off.token(vec![job_grant(&["python3"])]));
    assert_eq!(code_of(check(&off, &r)), "jobs-disabled");
}

#[test]
fn a_policy_refusal_does_not_use_the_token_up() {
    let f = Fixture::new(JOBS_CONTAINER);
    let token = f.token(vec![job_grant(&["python3"])]);
    let mut replay = MemoryReplayStore::new();
    let now = OffsetDateTime::now_utc();
    let mut too_big = request(token.clone());
    too_big.memory = Some(1 << 30);
    assert!(authorize(&too_big, &f.policy, INSTANCE, now, &mut replay).is_err());
    assert!(authorize(&request(token), &f.policy, INSTANCE, now, &mut replay).is_ok());
}

#[test]
fn a_host_without_an_instance_id_refuses_jobs() {
    let f = Fixture::new(JOBS_CONTAINER);
    let r = request(f.token(vec![job_grant(&["python3"])]));
    let got = authorize(
        &r,
        &f.policy,
        "",
        OffsetDateTime::now_utc(),
        &mut MemoryReplayStore::new(),
    );
    assert_eq!(code_of(got), "not-configured");
}

/// A script with one container job: `print(1)` in python3, at most 5 s.
const SCRIPT_WITH_JOB: &str = "bridle 1\ngoal \"g\"\norigins \"https://example.com\"\nlet x = job \"python3\" sandbox container timeout 5s <<<\nprint(1)\n>>>\nreturn x\n";

#[test]
fn a_job_sent_with_its_script_must_be_one_of_the_scripts_jobs() {
    let f = Fixture::new(JOBS_CONTAINER);
    let with_script = |code: &str, timeout: Option<Duration>| JobRequest {
        code: code.as_bytes().to_vec(),
        script: Some(SCRIPT_WITH_JOB.as_bytes().to_vec()),
        timeout,
        ..request(f.token(vec![job_grant(&["python3"])]))
    };
    // The script's own job, within its limits, is accepted.
    let ok = with_script("print(1)", Some(Duration::from_secs(5)));
    assert_eq!(code_of(check(&f, &ok)), "accepted");
    // Other code sent alongside the script is not authorised by it.
    let other = with_script("import os; os.system('id')", Some(Duration::from_secs(5)));
    assert_eq!(code_of(check(&f, &other)), "not-in-script");
    // Nor is the script's code with more time than the step states.
    let longer = with_script("print(1)", Some(Duration::from_secs(9)));
    assert_eq!(code_of(check(&f, &longer)), "not-in-script");
    // A script that does not check authorises nothing.
    let broken = JobRequest {
        script: Some(b"bridle 1\nclick".to_vec()),
        ..request(f.token(vec![job_grant(&["python3"])]))
    };
    assert_eq!(code_of(check(&f, &broken)), "not-in-script");
}

/// A script with three container jobs: two the same (`print(1)`), one other (`print(2)`).
const SCRIPT_WITH_JOBS: &str = "bridle 1\ngoal \"g\"\norigins \"https://example.com\"\n\
let a = job \"python3\" sandbox container timeout 5s <<<\nprint(1)\n>>>\n\
let b = job \"python3\" sandbox container timeout 5s <<<\nprint(2)\n>>>\n\
let c = job \"python3\" sandbox container timeout 5s <<<\nprint(1)\n>>>\n\
return a\n";

#[test]
fn a_token_runs_each_job_step_of_its_script_once_per_use() {
    let f = Fixture::new(JOBS_CONTAINER);
    // One use: the extension counts the run in its own record; the host counts each job step.
    let token = f.token(vec![job_grant(&["python3"])]);
    let job = |code: &str| JobRequest {
        code: code.as_bytes().to_vec(),
        script: Some(SCRIPT_WITH_JOBS.as_bytes().to_vec()),
        timeout: Some(Duration::from_secs(5)),
        ..request(token.clone())
    };
    let mut replay = MemoryReplayStore::new();
    let mut send = |code: &str| {
        code_of(authorize(
            &job(code),
            &f.policy,
            INSTANCE,
            OffsetDateTime::now_utc(),
            &mut replay,
        ))
    };
    // `print(1)` is written twice, `print(2)` once: that many runs each, and no more.
    assert_eq!(send("print(1)"), "accepted");
    assert_eq!(send("print(2)"), "accepted");
    assert_eq!(send("print(1)"), "accepted");
    assert_eq!(send("print(1)"), "token-replayed");
    assert_eq!(send("print(2)"), "token-replayed");
    // A job not in the script is still refused as such, whatever is left.
    assert_eq!(send("print(3)"), "not-in-script");
}

#[test]
fn a_job_without_its_script_counts_against_the_token_itself() {
    let f = Fixture::new(JOBS_CONTAINER);
    let r = request(f.token(vec![job_grant(&["python3"])]));
    let mut replay = MemoryReplayStore::new();
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        code_of(authorize(&r, &f.policy, INSTANCE, now, &mut replay)),
        "accepted"
    );
    assert_eq!(
        code_of(authorize(&r, &f.policy, INSTANCE, now, &mut replay)),
        "token-replayed"
    );
}
