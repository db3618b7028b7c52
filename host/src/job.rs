//! The job types every sandbox tier shares: what to run ([`JobSpec`]), what came back
//! ([`JobOutcome`]), where output goes while it runs ([`OutputSink`]), how to stop it
//! ([`Cancel`]), and the trait a tier implements ([`Sandbox`]).
//!
//! A tier receives a spec that has already been authorised (see `crate::auth`); it trusts the
//! spec's limits but nothing the job itself does. Every tier must: enforce every limit in
//! [`Limits`], stream output through [`OutputBudget`] so the byte budget is applied the same
//! way everywhere, stop promptly when [`Cancel`] fires, and leave no process or file behind on
//! any path, errors included.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The sandbox a job runs in, weakest first (the order matters: a policy's `min_tier` is a
/// floor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// A bubblewrap container: namespaces, seccomp, Landlock, cgroup limits.
    Container,
    /// A throwaway QEMU microVM, one per job.
    Microvm,
}

impl Tier {
    /// The stable word for the tier (`container`, `microvm`), as the policy and CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Container => "container",
            Tier::Microvm => "microvm",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "container" => Ok(Tier::Container),
            "microvm" => Ok(Tier::Microvm),
            other => Err(SandboxError::BadSpec(format!(
                "unknown tier `{other}` (expected `container` or `microvm`)"
            ))),
        }
    }
}

/// The default wall-clock limit when a request names none (the policy's ceiling still applies).
pub const DEFAULT_WALL: Duration = Duration::from_secs(10);
/// The default memory limit: enough for CPython or node with a modest working set.
pub const DEFAULT_MEMORY: u64 = 256 * 1024 * 1024;
/// The default process/thread limit: room for a runtime's helper threads, not for a fork bomb.
pub const DEFAULT_PIDS: u32 = 64;
/// The default CPU share, in cores.
pub const DEFAULT_CPU: f64 = 1.0;
/// The default stdout+stderr budget (the policy's `max_output` default).
pub const DEFAULT_OUTPUT: u64 = 1024 * 1024;
/// The largest chunk handed to an [`OutputSink`] at once, so a streaming consumer (native
/// messaging, whose frames the browser caps at 1 MiB) never has to split a chunk again.
pub const MAX_CHUNK: usize = 64 * 1024;

/// Resource limits for one job. Every tier enforces all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall-clock time from start to kill.
    pub wall: Duration,
    /// Memory ceiling in bytes (resident plus swap where the tier can tell).
    pub memory: u64,
    /// CPU share in cores (may be fractional: 0.5 is half a core).
    pub cpu: f64,
    /// Most processes plus threads alive at once.
    pub pids: u32,
    /// Most bytes of stdout plus stderr kept and streamed; the rest is cut.
    pub output: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: DEFAULT_WALL,
            memory: DEFAULT_MEMORY,
            cpu: DEFAULT_CPU,
            pids: DEFAULT_PIDS,
            output: DEFAULT_OUTPUT,
        }
    }
}

/// One job, authorised and ready for a tier.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// The runtime by its policy name (`python3`, `sh`, `node`).
    pub runtime: String,
    /// The program text, handed to the runtime as a file.
    pub code: Vec<u8>,
    /// The job's stdin.
    pub input: Vec<u8>,
    pub limits: Limits,
    /// Whether the job may reach the network (only when both token and policy grant it).
    pub network: bool,
    pub tier: Tier,
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A limit that stopped or constrained the job. The names ([`LimitHit::as_str`]) are a stable
/// interface: the CLI's `--json` and the native messaging results carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitHit {
    /// Killed at the wall-clock limit.
    Wall,
    /// The memory ceiling was reached (an allocation failed or the OOM killer ran).
    Memory,
    /// The CPU-time ceiling was reached (rlimit fallback) or the job was throttled.
    Cpu,
    /// A fork or thread creation failed at the process limit.
    Pids,
    /// Output beyond the byte budget was cut.
    Output,
    /// Cancelled by the caller (not a resource, but reported the same way).
    Cancelled,
}

impl LimitHit {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitHit::Wall => "wall",
            LimitHit::Memory => "memory",
            LimitHit::Cpu => "cpu",
            LimitHit::Pids => "pids",
            LimitHit::Output => "output",
            LimitHit::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for LimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobOutcome {
    /// The exit status when the job exited on its own.
    pub exit: Option<i32>,
    /// The signal's name (`SIGKILL`) when the job was killed by one.
    pub signal: Option<String>,
    /// Stdout as kept (at most the budget).
    pub stdout: Vec<u8>,
    /// Stderr as kept (at most what the budget left).
    pub stderr: Vec<u8>,
    /// Whether stdout was cut at the budget.
    pub stdout_cut: bool,
    /// Whether stderr was cut at the budget.
    pub stderr_cut: bool,
    /// Limits hit, sorted, no duplicates.
    pub limits_hit: Vec<LimitHit>,
    /// Wall-clock time from the start of sandbox setup to the end of cleanup.
    pub wall_ms: u64,
    /// CPU time (user plus system) of the job's processes, when the tier can measure it.
    pub cpu_ms: Option<u64>,
    /// Peak memory in bytes, when the tier can measure it.
    pub peak_memory: Option<u64>,
}

impl JobOutcome {
    /// Records a limit hit once.
    pub fn hit(&mut self, limit: LimitHit) {
        if !self.limits_hit.contains(&limit) {
            self.limits_hit.push(limit);
            self.limits_hit.sort();
        }
    }
}

/// Receives output while the job runs, in chunks of at most [`MAX_CHUNK`] bytes, already
/// within the budget. Called from the tier's thread; keep it quick.
pub trait OutputSink: Send {
    fn chunk(&mut self, stream: Stream, bytes: &[u8]);
}

/// A sink that drops chunks (the outcome still holds the output).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl OutputSink for NullSink {
    fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {}
}

/// Applies the stdout+stderr byte budget for every tier alike: keeps what fits, streams it to
/// the sink in chunks of at most [`MAX_CHUNK`], and remembers what was cut.
pub struct OutputBudget<'a> {
    left: u64,
    sink: &'a mut dyn OutputSink,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    stdout_cut: bool,
    stderr_cut: bool,
}

impl fmt::Debug for OutputBudget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputBudget")
            .field("left", &self.left)
            .field("stdout", &self.stdout.len())
            .field("stderr", &self.stderr.len())
            .finish_non_exhaustive()
    }
}

impl<'a> OutputBudget<'a> {
    pub fn new(budget: u64, sink: &'a mut dyn OutputSink) -> Self {
        OutputBudget {
            left: budget,
            sink,
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_cut: false,
            stderr_cut: false,
        }
    }

    /// Takes bytes the job wrote; returns whether any budget is left (a tier may stop reading,
    /// or kill the job, once it is not).
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) -> bool {
        let room = usize::try_from(self.left).unwrap_or(usize::MAX);
        let keep = bytes.len().min(room);
        let kept = &bytes[..keep];
        for piece in kept.chunks(MAX_CHUNK) {
            self.sink.chunk(stream, piece);
        }
        let (buf, cut) = match stream {
            Stream::Stdout => (&mut self.stdout, &mut self.stdout_cut),
            Stream::Stderr => (&mut self.stderr, &mut self.stderr_cut),
        };
        buf.extend_from_slice(kept);
        if keep < bytes.len() {
            *cut = true;
        }
        self.left -= keep as u64;
        self.left > 0
    }

    /// Whether anything was cut so far.
    pub fn any_cut(&self) -> bool {
        self.stdout_cut || self.stderr_cut
    }

    /// Moves the kept output and cut flags into `outcome`, adding [`LimitHit::Output`] when
    /// anything was cut.
    pub fn finish(self, outcome: &mut JobOutcome) {
        if self.stdout_cut || self.stderr_cut {
            outcome.hit(LimitHit::Output);
        }
        outcome.stdout = self.stdout;
        outcome.stderr = self.stderr;
        outcome.stdout_cut = self.stdout_cut;
        outcome.stderr_cut = self.stderr_cut;
    }
}

/// A cancellation handle, cheap to clone and share across threads. A tier waits on it instead
/// of sleeping, so a cancel (or a browser disconnect) stops the job at once.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop. Idempotent.
    pub fn cancel(&self) {
        let (flag, cvar) = &*self.inner;
        let mut set = flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *set = true;
        cvar.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        let (flag, _) = &*self.inner;
        *flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits up to `timeout` for a cancel; returns whether the job was cancelled.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let (flag, cvar) = &*self.inner;
        let guard = flag
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |set| !*set)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

/// Why a tier could not run a job (the job's own failures are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The tier cannot run on this machine; `fix` says what would make it work.
    #[error("the {tier} tier is unavailable: {reason} (fix: {fix})")]
    Unavailable {
        tier: Tier,
        reason: String,
        fix: String,
    },
    /// The microVM tier has not been built into this binary.
    #[error("the microvm tier is not built")]
    MicrovmNotBuilt,
    /// The runtime is not known to this host.
    #[error("unknown runtime `{0}`")]
    UnknownRuntime(String),
    /// The spec itself is unusable.
    #[error("bad job: {0}")]
    BadSpec(String),
    /// A setup or cleanup step failed; `op` names it, with the path where there is one.
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    /// An IO error with the operation (and path) that failed.
    pub fn io(op: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            op: op.into(),
            source,
        }
    }
}

/// A sandbox tier.
pub trait Sandbox: Send + Sync {
    /// Runs one job in a fresh sandbox and destroys the sandbox before returning, on every
    /// path. Output goes to `sink` as it comes (within the budget); `cancel` stops the job.
    fn run(
        &self,
        spec: &JobSpec,
        sink: &mut dyn OutputSink,
        cancel: &Cancel,
    ) -> Result<JobOutcome, SandboxError>;
}

/// Runs a job in the tier its spec names.
pub fn run(
    spec: &JobSpec,
    sink: &mut dyn OutputSink,
    cancel: &Cancel,
) -> Result<JobOutcome, SandboxError> {
    match spec.tier {
        Tier::Container => crate::container::Container::new()?.run(spec, sink, cancel),
        Tier::Microvm => crate::microvm::run(spec, sink, cancel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(Stream, usize)>);
    impl OutputSink for Collect {
        fn chunk(&mut self, stream: Stream, bytes: &[u8]) {
            self.0.push((stream, bytes.len()));
        }
    }

    #[test]
    fn budget_cuts_and_marks() {
        let mut sink = Collect::default();
        let mut budget = OutputBudget::new(10, &mut sink);
        assert!(budget.push(Stream::Stdout, b"hello"));
        assert!(!budget.push(Stream::Stderr, b"world!!"));
        assert!(!budget.push(Stream::Stdout, b"more"));
        let mut outcome = JobOutcome::default();
        budget.finish(&mut outcome);
        assert_eq!(outcome.stdout, b"hello");
        assert_eq!(outcome.stderr, b"world");
        assert!(outcome.stdout_cut && outcome.stderr_cut);
        assert_eq!(outcome.limits_hit, vec![LimitHit::Output]);
    }

    #[test]
    fn chunks_are_bounded() {
        let mut sink = Collect::default();
        let mut budget = OutputBudget::new(u64::MAX, &mut sink);
        budget.push(Stream::Stdout, &vec![b'x'; MAX_CHUNK * 2 + 1]);
        drop(budget);
        assert_eq!(sink.0.len(), 3);
        assert!(sink.0.iter().all(|(_, n)| *n <= MAX_CHUNK));
    }

    #[test]
    fn cancel_wakes_waiters() {
        let cancel = Cancel::new();
        assert!(!cancel.wait_timeout(Duration::from_millis(1)));
        let other = cancel.clone();
        let t = std::thread::spawn(move || other.wait_timeout(Duration::from_secs(60)));
        cancel.cancel();
        assert!(t.join().unwrap_or(false));
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn tiers_order_and_names() {
        assert!(Tier::Container < Tier::Microvm);
        assert_eq!("microvm".parse::<Tier>().ok(), Some(Tier::Microvm));
        assert!("vm".parse::<Tier>().is_err());
        assert_eq!(LimitHit::Pids.as_str(), "pids");
    }
}
