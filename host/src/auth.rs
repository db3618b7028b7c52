//! Job authorisation: a job request becomes a [`JobSpec`] only after its capability token
//! verifies (with the executor's own code: signature, audience, time window, script binding,
//! replay) and both the token's job grant and the local policy's `[jobs]` table allow every
//! part of it — runtime, tier, memory, CPU, wall time, network. Anything else is a
//! [`Refusal`] with a stable code.
//!
//! The same function serves `bridle host` and `bridle job run`, so the command line checks
//! exactly what the browser path checks.

use crate::job::{JobSpec, Limits, Tier, DEFAULT_CPU, DEFAULT_MEMORY, DEFAULT_PIDS, DEFAULT_WALL};
use bridle_dsl::Verb;
use bridle_executor::policy::Jobs;
use bridle_executor::replay::{MemoryReplayStore, ReplayError, ReplayStore};
use bridle_executor::time::OffsetDateTime;
use bridle_executor::token::{Grant, SandboxTier, TokenError, UnverifiedToken, VerifyContext};
use bridle_executor::Policy;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A job as a caller asks for it: nothing here is trusted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobRequest {
    /// The capability token (`v4.public.…`).
    pub token: String,
    pub runtime: String,
    pub code: Vec<u8>,
    pub input: Vec<u8>,
    pub tier: Option<Tier>,
    /// Wall-clock limit asked for; the default is the smaller of [`DEFAULT_WALL`] and the
    /// policy's `max_wall`.
    pub timeout: Option<Duration>,
    /// Memory asked for in bytes; default the smaller of [`DEFAULT_MEMORY`] and the ceilings.
    pub memory: Option<u64>,
    /// CPU cores asked for; default the smaller of [`DEFAULT_CPU`] and the ceilings.
    pub cpu: Option<f64>,
    pub network: bool,
    /// The script the token is bound to (its `script` claim), when the job is a step of one;
    /// without it, a bound token must be bound to the job's code itself.
    pub script: Option<Vec<u8>>,
}

/// Why a job was refused. [`Refusal::code`] is stable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is invalid: {0}")]
    Token(TokenError),
    #[error("the policy allows no jobs (`[jobs] runtimes` is empty)")]
    JobsDisabled,
    #[error("the token has no grant listing the verb `job`")]
    NoJobGrant,
    #[error("{0}")]
    Runtime(String),
    #[error("{0}")]
    Tier(String),
    #[error("{0}")]
    Memory(String),
    #[error("{0}")]
    Cpu(String),
    #[error("{0}")]
    Wall(String),
    #[error("{0}")]
    Network(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("this host has no instance id configured (run `bridle host install --instance ID`)")]
    NotConfigured,
    /// The job is not one the script it came with runs: a token bound to a script authorises
    /// that script's jobs, not any code sent alongside it.
    #[error("{0}")]
    NotInScript(String),
}

impl Refusal {
    /// A stable, machine-readable name (kebab-case); token errors are `token-` plus the
    /// executor's own code (`token-replayed`, `token-wrong-audience`).
    pub fn code(&self) -> String {
        match self {
            Refusal::Token(e) => format!("token-{}", e.code()),
            Refusal::JobsDisabled => "jobs-disabled".into(),
            Refusal::NoJobGrant => "no-job-grant".into(),
            Refusal::Runtime(_) => "runtime".into(),
            Refusal::Tier(_) => "tier".into(),
            Refusal::Memory(_) => "memory".into(),
            Refusal::Cpu(_) => "cpu".into(),
            Refusal::Wall(_) => "wall".into(),
            Refusal::Network(_) => "network".into(),
            Refusal::BadRequest(_) => "bad-request".into(),
            Refusal::NotConfigured => "not-configured".into(),
            Refusal::NotInScript(_) => "not-in-script".into(),
        }
    }
}

/// Most code a job may carry. Code is a program text, not data; 4 MiB is generous, and keeps
/// a request within the native messaging frame cap (see `native::MAX_FRAME`).
pub const MAX_CODE_BYTES: usize = 4 * 1024 * 1024;
/// Most input a job may carry (the rest of the frame cap).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

fn tier_of(t: SandboxTier) -> Tier {
    match t {
        SandboxTier::Container => Tier::Container,
        SandboxTier::Microvm => Tier::Microvm,
    }
}

fn sandbox_tier(t: Tier) -> SandboxTier {
    match t {
        Tier::Container => SandboxTier::Container,
        Tier::Microvm => SandboxTier::Microvm,
    }
}

/// Verifies `request` against `policy` for this instance, now, recording the token's use in
/// `replay` (last, so a refused job does not use the token up — except a token refusal).
pub fn authorize(
    request: &JobRequest,
    policy: &Policy,
    instance_id: &str,
    now: OffsetDateTime,
    replay: &mut dyn ReplayStore,
) -> Result<JobSpec, Refusal> {
    if instance_id.is_empty() {
        return Err(Refusal::NotConfigured);
    }
    if request.code.len() > MAX_CODE_BYTES {
        return Err(Refusal::BadRequest(format!(
            "the code is {} bytes; at most {MAX_CODE_BYTES}",
            request.code.len()
        )));
    }
    if request.input.len() > MAX_INPUT_BYTES {
        return Err(Refusal::BadRequest(format!(
            "the input is {} bytes; at most {MAX_INPUT_BYTES}",
            request.input.len()
        )));
    }
    let jobs = &policy.jobs;
    // Policy checks first: they need no token and refuse without using it up.
    let spec = check_policy(request, jobs)?;
    let token = UnverifiedToken::parse(request.token.trim()).map_err(Refusal::Token)?;
    // Check the grants on the unverified claims first, so a refusal does not use the token
    // up; the verified claims are the same bytes, checked again below.
    let claims = token.claims_unverified().map_err(Refusal::Token)?;
    check_grants(&claims.grants, &spec)?;
    let steps = match request.script.as_deref() {
        Some(script) => Some(check_in_script(request, &spec, script)?),
        None => None,
    };
    let script = request.script.as_deref().unwrap_or(&request.code);
    let verify = |replay: &mut dyn ReplayStore| {
        token.verify(&mut VerifyContext {
            keys: policy,
            instance_id,
            now,
            script: Some(script),
            replay,
        })
    };
    let verified = match steps {
        None => verify(replay),
        // Each job step of the token's script runs as many times as the token has uses (the
        // extension counts the run itself in its own record): the first matching step not
        // used up takes this job.
        Some(steps) => {
            let mut last = None;
            for step in steps {
                match verify(&mut PerStep {
                    inner: &mut *replay,
                    step,
                }) {
                    // This step has run as often as the token allows: try the next like it.
                    Err(e @ TokenError::Replayed { .. }) => last = Some(Err(e)),
                    done => {
                        last = Some(done);
                        break;
                    }
                }
            }
            last.ok_or_else(|| Refusal::NotInScript("no job step of the script matches".into()))?
        }
    }
    .map_err(Refusal::Token)?;
    check_grants(verified.grants(), &spec)?;
    Ok(spec)
}

/// The replay record of one job step: a token's uses are counted per `job` step of its
/// script, so a script with several jobs needs no more uses than one run of it.
struct PerStep<'a> {
    inner: &'a mut dyn ReplayStore,
    step: usize,
}

impl ReplayStore for PerStep<'_> {
    fn record_use(
        &mut self,
        jti: &str,
        uses: u32,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, ReplayError> {
        self.inner.record_use(
            &format!("{jti}#job-step-{}", self.step),
            uses,
            keep_until,
            now,
        )
    }
}

/// A job sent with its script must be one of that script's `job` steps: the same runtime and
/// code, and no weaker sandbox, no more time and no more memory than the step states. The
/// token binds the script, and so (only) the jobs written in it. Returns the matching steps'
/// indices (1-based), never none.
fn check_in_script(
    request: &JobRequest,
    spec: &JobSpec,
    script: &[u8],
) -> Result<Vec<usize>, Refusal> {
    let checked = bridle_dsl::check_bytes(script, &bridle_dsl::CheckOptions::default())
        .map_err(|_| Refusal::NotInScript("the script sent with the job does not check".into()))?;
    let code = std::str::from_utf8(&request.code).map_err(|_| {
        Refusal::NotInScript("the job's code is not the script's (not UTF-8)".into())
    })?;
    let fits: Vec<usize> = checked
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| Some((i + 1, bridle_executor::decide::job_of(&checked, step)?)))
        .filter(|(_, job)| job.runtime.node == request.runtime && job.code.node == code)
        .filter(|(_, job)| {
            let tier = job
                .sandbox
                .as_ref()
                .map_or(bridle_executor::decide::DEFAULT_JOB_SANDBOX, |s| s.node);
            let tier_ok = spec.tier >= tier_of(tier);
            let wall_ok = job
                .timeout
                .as_ref()
                .is_none_or(|t| u128::from(t.node.millis) >= spec.limits.wall.as_millis());
            let memory_ok = job
                .memory
                .as_ref()
                .is_none_or(|m| m.node.bytes >= spec.limits.memory);
            tier_ok && wall_ok && memory_ok
        })
        .map(|(index, _)| index)
        .collect();
    if !fits.is_empty() {
        Ok(fits)
    } else {
        Err(Refusal::NotInScript(
            "the job is not one of the script's `job` steps (runtime, code, sandbox and limits must match a step)".into(),
        ))
    }
}

/// The policy's `[jobs]` table against the request; returns the spec with limits filled in.
fn check_policy(request: &JobRequest, jobs: &Jobs) -> Result<JobSpec, Refusal> {
    if !jobs.enabled() {
        return Err(Refusal::JobsDisabled);
    }
    let runtime = &request.runtime;
    if !jobs.allows_runtime(runtime) {
        return Err(Refusal::Runtime(format!(
            "the policy does not allow the runtime `{runtime}`"
        )));
    }
    let tier = request.tier.unwrap_or(tier_of(jobs.min_tier));
    if !jobs.allows_tier(sandbox_tier(tier)) {
        return Err(Refusal::Tier(format!(
            "the policy requires the `{}` sandbox or stronger",
            tier_of(jobs.min_tier)
        )));
    }
    let memory = request
        .memory
        .unwrap_or(DEFAULT_MEMORY.min(jobs.max_memory));
    if memory > jobs.max_memory {
        return Err(Refusal::Memory(format!(
            "the policy allows at most {} bytes of job memory",
            jobs.max_memory
        )));
    }
    let max_wall = Duration::from_millis(
        u64::try_from(jobs.max_wall.whole_milliseconds()).unwrap_or(u64::MAX),
    );
    let wall = request.timeout.unwrap_or(DEFAULT_WALL.min(max_wall));
    if wall > max_wall {
        return Err(Refusal::Wall(format!(
            "the policy allows jobs at most {} ms of wall-clock time",
            max_wall.as_millis()
        )));
    }
    let cpu = request.cpu.unwrap_or(DEFAULT_CPU.min(jobs.max_cpu));
    if !(cpu > 0.0 && cpu <= jobs.max_cpu) {
        return Err(Refusal::Cpu(format!(
            "the policy allows at most {} CPUs per job",
            jobs.max_cpu
        )));
    }
    if request.network && !jobs.network {
        return Err(Refusal::Network(
            "the policy does not allow jobs network access".into(),
        ));
    }
    if memory == 0 || wall.is_zero() {
        return Err(Refusal::BadRequest(
            "memory and timeout must be more than zero".into(),
        ));
    }
    Ok(JobSpec {
        runtime: runtime.clone(),
        code: request.code.clone(),
        input: request.input.clone(),
        limits: Limits {
            wall,
            memory,
            cpu,
            pids: DEFAULT_PIDS,
            output: jobs.max_output,
        },
        network: request.network,
        tier,
    })
}

/// Some grant listing `job` must allow every part of the spec; otherwise the refusal of the
/// first job grant (the one a planner most likely meant) is returned.
fn check_grants(grants: &[Grant], spec: &JobSpec) -> Result<(), Refusal> {
    let mut first = None;
    for grant in grants {
        // Only a grant naming `job` covers jobs: a grant without a verb list is about page
        // actions, and a job is never implied.
        if !grant.verbs.as_ref().is_some_and(|v| v.contains(&Verb::Job)) {
            continue;
        }
        match check_grant(grant, spec) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or(Refusal::NoJobGrant))
}

fn check_grant(grant: &Grant, spec: &JobSpec) -> Result<(), Refusal> {
    if let Some(runtimes) = &grant.runtimes {
        if !runtimes.iter().any(|r| r == &spec.runtime) {
            return Err(Refusal::Runtime(format!(
                "the token's job grant does not allow the runtime `{}`",
                spec.runtime
            )));
        }
    }
    if let Some(min) = grant.sandbox {
        if sandbox_tier(spec.tier) < min {
            return Err(Refusal::Tier(format!(
                "the token's job grant requires the `{}` sandbox or stronger",
                tier_of(min)
            )));
        }
    }
    if let Some(max) = grant.memory {
        if spec.limits.memory > max.bytes() {
            return Err(Refusal::Memory(format!(
                "the token's job grant allows at most {} bytes of job memory",
                max.bytes()
            )));
        }
    }
    if let Some(max) = grant.cpu {
        if spec.limits.cpu > max {
            return Err(Refusal::Cpu(format!(
                "the token's job grant allows at most {max} CPUs"
            )));
        }
    }
    if spec.network && grant.network != Some(true) {
        return Err(Refusal::Network(
            "the token's job grant does not allow network access".into(),
        ));
    }
    Ok(())
}

/// Most tokens remembered in the replay state file (the executor's in-memory bound).
const REPLAY_CAPACITY: usize = bridle_executor::replay::DEFAULT_REPLAY_CAPACITY;

/// A replay store kept in a file, shared by every `bridle host` process (a browser starts one
/// per connection) and `bridle job run`: each use is recorded under an exclusive lock, read,
/// updated and written back before the job starts, so a token cannot be replayed across
/// connections or commands.
#[derive(Debug, Clone)]
pub struct ReplayFile {
    path: PathBuf,
}

impl ReplayFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ReplayFile { path: path.into() }
    }

    /// `$BRIDLE_STATE_DIR/job-replay.json`, else `$XDG_STATE_HOME/bridle/…`, else
    /// `~/.local/state/bridle/…`.
    pub fn default_path() -> Option<PathBuf> {
        let dir = if let Some(dir) = std::env::var_os("BRIDLE_STATE_DIR") {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_STATE_HOME") {
            PathBuf::from(dir).join("bridle")
        } else {
            PathBuf::from(std::env::var_os("HOME")?).join(".local/state/bridle")
        };
        Some(dir.join("job-replay.json"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ReplayStore for ReplayFile {
    fn record_use(
        &mut self,
        jti: &str,
        uses: u32,
        keep_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u32, ReplayError> {
        use std::io::{Read, Seek, Write};
        let unavailable = |what: &str, e: &dyn std::fmt::Display| ReplayError::Unavailable {
            detail: format!("{what} {}: {e}", self.path.display()),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| unavailable("create the directory of", &e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| unavailable("open", &e))?;
        // Held until `file` is dropped at the end of this function.
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| unavailable("lock", &e))?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| unavailable("read", &e))?;
        let mut store = if text.trim().is_empty() {
            MemoryReplayStore::with_capacity(REPLAY_CAPACITY)
        } else {
            MemoryReplayStore::from_json(&text).map_err(|e| unavailable("parse", &e))?
        };
        store.purge_expired(now);
        let left = store.record_use(jti, uses, keep_until, now)?;
        let json = store.to_json();
        file.set_len(0).map_err(|e| unavailable("truncate", &e))?;
        file.rewind().map_err(|e| unavailable("rewind", &e))?;
        file.write_all(json.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| unavailable("write", &e))?;
        Ok(left)
    }
}
