//! The container tier end to end — a job request (token verification and the policy's
//! `[jobs]` checks) to its result (sandbox set up, `python3` run, output collected, every
//! process killed and the cgroup removed) — against the bare `python3 -I -c 'print(1)'`
//! process, interleaved in the same run (goal: at most +15 ms).
//!
//! The sandbox's launcher is this very binary (`bridle-bench __sandbox-exec …`, see `main`), so
//! the benchmark needs nothing built beforehand.

use bridle_dsl::Verb;
use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_public_key, key_id};
use bridle_executor::replay::MemoryReplayStore;
use bridle_executor::time::{Duration, OffsetDateTime};
use bridle_executor::token::{mint, Claims, Grant, SandboxTier};
use bridle_executor::Policy;
use bridle_host::auth::{authorize, JobRequest};
use bridle_host::container::{launcher_args, Container};
use bridle_host::job::{Cancel, NullSink, Sandbox, Tier};
use std::process::Command;
use std::time::{Duration as Elapsed, Instant};

/// Rounds of each (interleaved, after one warm-up of each); the median is reported.
const ROUNDS: usize = 30;
const PYTHON: &str = "/usr/bin/python3";

fn median(mut samples: Vec<Elapsed>) -> Elapsed {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

pub fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let container = Container::with_launcher(exe, launcher_args()).map_err(|e| e.to_string())?;
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let kid = key_id(&key.verifying_key());
    let policy = Policy::from_bytes(
        format!(
            "[[planner]]\nname = \"bench\"\nkid = \"{kid}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n[jobs]\nruntimes = [\"python3\"]\nmin_tier = \"container\"\n",
            encode_public_key(&key.verifying_key())
        )
        .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let instance = "bench-instance";
    let mut replay = MemoryReplayStore::new();
    let mut n = 0u32;
    let mut job = || -> Result<Elapsed, String> {
        n += 1;
        let now = OffsetDateTime::now_utc();
        let claims = Claims {
            v: 1,
            iss: "bench".into(),
            aud: instance.into(),
            iat: now,
            nbf: now,
            exp: now + Duration::minutes(5),
            jti: format!("bench-{n}"),
            uses: 1,
            script: None,
            grants: vec![Grant {
                verbs: Some(vec![Verb::Job]),
                runtimes: Some(vec!["python3".into()]),
                sandbox: Some(SandboxTier::Container),
                ..Grant::default()
            }],
        };
        let token = mint(&claims, &kid, &key, instance).map_err(|e| e.to_string())?;
        let request = JobRequest {
            token,
            runtime: "python3".into(),
            code: b"print(1)".to_vec(),
            tier: Some(Tier::Container),
            ..JobRequest::default()
        };
        // Timed from the request (minting is the planner's side, outside).
        let start = Instant::now();
        let spec =
            authorize(&request, &policy, instance, now, &mut replay).map_err(|e| e.to_string())?;
        let out = container
            .run(&spec, &mut NullSink, &Cancel::new())
            .map_err(|e| e.to_string())?;
        let took = start.elapsed();
        if out.stdout != b"1\n" {
            return Err(format!(
                "the job printed {:?}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        Ok(took)
    };
    let bare = || -> Result<Elapsed, String> {
        let start = Instant::now();
        let out = Command::new(PYTHON)
            .args(["-I", "-c", "print(1)"])
            .output()
            .map_err(|e| e.to_string())?;
        let took = start.elapsed();
        if out.stdout != b"1\n" {
            return Err("bare python3 did not print 1".into());
        }
        Ok(took)
    };
    job()?;
    bare()?;
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(job()?);
        base.push(bare()?);
    }
    let (ours, base) = (median(ours), median(base));
    println!(
        "container job python3 print(1), request to result: {:.1} ms   bare python3: {:.1} ms   overhead +{:.1} ms ({:.2}×; cgroups: {})",
        ours.as_secs_f64() * 1e3,
        base.as_secs_f64() * 1e3,
        (ours.as_secs_f64() - base.as_secs_f64()) * 1e3,
        ours.as_secs_f64() / base.as_secs_f64().max(f64::MIN_POSITIVE),
        container.layout().name(),
    );
    Ok(())
}
