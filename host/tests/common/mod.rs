//! Shared helpers for the host's integration tests: the container tier with the launcher cargo
//! built for this package, a policy trusting a test planner, and token minting.
#![allow(dead_code)]

use bridle_executor::ed25519_dalek::SigningKey;
use bridle_executor::keys::{encode_public_key, key_id};
use bridle_executor::time::{Duration as TimeDuration, OffsetDateTime};
use bridle_executor::token::{mint, Claims, Grant};
use bridle_executor::Policy;
use bridle_host::container::{launcher_args, Container};
use bridle_host::job::{Cancel, JobOutcome, JobSpec, Limits, NullSink, Sandbox, Tier};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const INSTANCE: &str = "test-instance";

/// Where the microVM tests keep their guest snapshots: `BRIDLE_MICROVM_CACHE` as the host reads
/// it (a run as another user, as a browser starts the host, cannot write the workspace's
/// folder), else the workspace's.
pub fn snapshot_dir() -> PathBuf {
    std::env::var_os("BRIDLE_MICROVM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/guest/snapshots"))
}

/// The container tier, or a failure naming the fix: these tests never skip silently.
pub fn container() -> Container {
    assert!(
        Path::new("/usr/bin/bwrap").exists(),
        "bubblewrap is missing: run `bash .ci/setup` (it installs the `bubblewrap` package) or `apt-get install bubblewrap`"
    );
    Container::with_launcher(
        env!("CARGO_BIN_EXE_bridle-sandbox-exec").into(),
        launcher_args(),
    )
    .unwrap_or_else(|e| panic!("the container tier is unavailable: {e}"))
}

/// The container tier with a usable cgroup: the memory, pids and CPU tests need one to see
/// which limit was hit (rlimits stop a job too, but say nothing).
pub fn limited() -> Container {
    let c = container();
    if let bridle_host::container::cgroup::Layout::None { why } = c.layout() {
        panic!(
            "no usable cgroup for job limits ({why}): run the tests as root on a host with cgroup v1 \
             controllers, or in a delegated cgroup v2 subtree \
             (`systemd-run --user --scope -p Delegate=yes make test`)"
        );
    }
    c
}

pub fn run_limited(spec: &JobSpec) -> JobOutcome {
    run_on(&limited(), spec)
}

/// Runs `spec` on the tier `c`, failing the test if it did not run.
pub fn run_on(c: &Container, spec: &JobSpec) -> JobOutcome {
    c.run(spec, &mut NullSink, &Cancel::new())
        .unwrap_or_else(|e| panic!("the job did not run: {e}"))
}

pub fn spec(runtime: &str, code: &str) -> JobSpec {
    JobSpec {
        runtime: runtime.into(),
        code: code.as_bytes().to_vec(),
        input: Vec::new(),
        limits: Limits {
            wall: Duration::from_secs(20),
            ..Limits::default()
        },
        network: false,
        tier: Tier::Container,
    }
}

pub fn run(spec: &JobSpec) -> JobOutcome {
    run_on(&container(), spec)
}

pub fn py(code: &str) -> JobOutcome {
    run(&spec("python3", code))
}

pub fn stdout(o: &JobOutcome) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Pids on the host whose command line contains `marker`.
pub fn host_processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(marker) {
                found.push(pid);
            }
        }
    }
    found
}

/// A unique marker for this test process and call, to find a job's processes on the host.
pub fn marker() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}{}",
        std::process::id() % 1000 + 1000,
        N.fetch_add(1, Ordering::Relaxed),
        7
    )
}

/// A planner key, and a policy trusting it with the given `[jobs]` table.
pub struct Fixture {
    pub key: SigningKey,
    pub policy: Policy,
}

pub const JOBS_CONTAINER: &str = r#"
[jobs]
runtimes = ["python3", "sh"]
min_tier = "container"
max_cpu = 1
max_memory = "256MB"
max_wall = "30s"
max_output = "1MB"
network = false
"#;

impl Fixture {
    pub fn new(jobs: &str) -> Fixture {
        Fixture::with_key([7u8; 32], jobs)
    }

    pub fn with_key(seed: [u8; 32], jobs: &str) -> Fixture {
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key();
        let text = format!(
            "[[planner]]\nname = \"test-planner\"\nkid = \"{}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n{jobs}",
            key_id(&public),
            encode_public_key(&public)
        );
        let policy =
            Policy::from_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("test policy: {e:?}"));
        Fixture { key, policy }
    }

    /// A token for `aud` with these grants, `uses` uses, a fresh jti.
    pub fn token_for(&self, aud: &str, grants: Vec<Grant>, uses: u32) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let now = OffsetDateTime::now_utc();
        let claims = Claims {
            v: 1,
            iss: "test-planner".into(),
            aud: aud.into(),
            iat: now,
            nbf: now,
            exp: now + TimeDuration::minutes(5),
            jti: format!(
                "jti-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
            uses,
            script: None,
            grants,
        };
        let kid = key_id(&self.key.verifying_key());
        mint(&claims, &kid, &self.key, aud).unwrap_or_else(|e| panic!("mint: {e}"))
    }

    pub fn token(&self, grants: Vec<Grant>) -> String {
        self.token_for(INSTANCE, grants, 1)
    }
}

/// A grant for container jobs in `runtimes`.
pub fn job_grant(runtimes: &[&str]) -> Grant {
    let grant: serde_json::Value = serde_json::json!({
        "verbs": ["job"],
        "runtimes": runtimes,
        "sandbox": "container",
        "memory": "256MB",
        "cpu": 1,
    });
    serde_json::from_value(grant).unwrap_or_else(|e| panic!("grant: {e}"))
}
