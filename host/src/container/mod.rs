//! The container tier: one bubblewrap sandbox per job — every namespace unshared, an
//! unprivileged uid, no capabilities, a read-only `/usr`, a private tmpfs work directory, a
//! seccomp filter ([`seccomp`]), Landlock and rlimits applied by the in-sandbox launcher
//! ([`shim`]), and memory, pids and CPU limits through a job cgroup ([`cgroup`]).
//!
//! The life of a job ([`Container::run`]): build the filters and the code file in memory;
//! create the job cgroup; spawn `bwrap`, which stops before running anything (`--block-fd`);
//! read the sandbox's init pid (`--info-fd`), open a pidfd for it and move both processes into
//! the cgroup; with network, connect its network namespace to a host-side slirp4netns
//! ([`net`]); release the block; stream output through the budget until the job ends, the
//! wall clock runs out or the caller cancels; then kill the pid namespace's init (which takes
//! every process of the job with it), kill whatever the cgroup still holds, and remove the
//! cgroup, and kill slirp4netns. The [`Cleanup`] guard does the killing on every path, errors
//! and panics included; the job's files live only in the sandbox's tmpfs and vanish with its
//! mount namespace.

pub mod cgroup;
pub mod net;
pub mod runtime;
pub mod seccomp;
pub mod shim;

use crate::job::{
    Cancel, JobOutcome, JobSpec, LimitHit, OutputBudget, OutputSink, Sandbox, SandboxError, Stream,
    Tier, MAX_CHUNK,
};
use cgroup::{CgroupLimits, JobCgroup, Layout};
use command_fds::{CommandFdExt, FdMapping};
use rustix::fd::OwnedFd;
use std::ffi::OsString;
use std::io::{Read, Seek, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where bubblewrap is looked for.
const BWRAP_PATHS: &[&str] = &["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"];
/// `setpriv` (util-linux), used to drop to [`JOB_UID`] before `bwrap` when the host is root.
const SETPRIV_PATHS: &[&str] = &["/usr/bin/setpriv", "/bin/setpriv"];
/// The uid and gid the job runs as inside (and, when the host is root, outside: `nobody`).
pub const JOB_UID: u32 = 65534;
/// How often the run loop looks at the clock and the cancel flag while no output arrives.
const POLL: Duration = Duration::from_millis(5);
/// How long the sandbox may take to report its init pid before the job is abandoned.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The work directory inside the sandbox (a private tmpfs).
pub const WORKDIR: &str = "/work";
/// The launcher's path inside the sandbox.
const EXEC_IN_SANDBOX: &str = "/bridle-exec";

// Child-side descriptor numbers for what bubblewrap reads.
const FD_CODE: i32 = 3;
const FD_BLOCK: i32 = 4;
const FD_INFO: i32 = 5;
const FD_SECCOMP: i32 = 6; // and 7, one per filter
const FD_RESOLV: i32 = 9; // the job's /etc/resolv.conf, with network

/// Files from `/etc` a job may need (dynamic loader cache, time zone, runtime alternatives);
/// the rest of `/etc` is not in the sandbox.
const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
];
/// More of `/etc` when the job has network: name resolution and certificates
/// (`/etc/resolv.conf` is written for the job: [`net::RESOLV_CONF`]).
const ETC_NETWORK_FILES: &[&str] = &[
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
];

/// The bubblewrap tier, with what it found on this machine.
#[derive(Debug, Clone)]
pub struct Container {
    bwrap: PathBuf,
    /// `setpriv`, when the host runs as root (then `bwrap` runs as `nobody`).
    setpriv: Option<PathBuf>,
    /// The launcher binary and the arguments that select it.
    exec: PathBuf,
    exec_args: Vec<String>,
    layout: Layout,
    /// slirp4netns, for jobs granted network ([`net`]); checked when such a job comes.
    net_tool: Option<PathBuf>,
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

fn unavailable(reason: impl Into<String>, fix: impl Into<String>) -> SandboxError {
    SandboxError::Unavailable {
        tier: Tier::Container,
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// Finds the launcher: `$BRIDLE_SANDBOX_EXEC`, the running `bridle` binary itself, or a
/// `bridle-sandbox-exec` next to the running binary (or one directory up, where cargo puts
/// binaries relative to test executables).
pub fn find_launcher() -> Option<(PathBuf, Vec<String>)> {
    let args = vec![shim::SUBCOMMAND.to_owned()];
    if let Some(path) = std::env::var_os("BRIDLE_SANDBOX_EXEC") {
        return Some((PathBuf::from(path), args));
    }
    let exe = std::env::current_exe().ok()?;
    if exe.file_name().is_some_and(|n| n == "bridle") {
        return Some((exe, args));
    }
    let dir = exe.parent()?;
    for candidate in [
        dir.join("bridle-sandbox-exec"),
        dir.join("../bridle-sandbox-exec"),
    ] {
        if candidate.is_file() {
            return Some((candidate, args));
        }
    }
    for candidate in [dir.join("bridle"), dir.join("../bridle")] {
        if candidate.is_file() {
            return Some((candidate, args));
        }
    }
    None
}

impl Container {
    /// Finds bubblewrap, the launcher and the cgroup layout.
    pub fn new() -> Result<Self, SandboxError> {
        let (exec, exec_args) = find_launcher().ok_or_else(|| {
            unavailable(
                "the in-sandbox launcher (`bridle-sandbox-exec`) was not found",
                "build it with `cargo build -p bridle-host --bins`, or set BRIDLE_SANDBOX_EXEC",
            )
        })?;
        Self::with_launcher(exec, exec_args)
    }

    /// As [`Container::new`], with an explicit launcher.
    pub fn with_launcher(exec: PathBuf, exec_args: Vec<String>) -> Result<Self, SandboxError> {
        // Checked here because bubblewrap would only notice inside the sandbox, after the job
        // has started, and its complaint would read as the job's own failure.
        if !exec.is_file() {
            return Err(unavailable(
                format!("the in-sandbox launcher {} does not exist", exec.display()),
                "build it with `cargo build -p bridle-host --bins`, or set BRIDLE_SANDBOX_EXEC",
            ));
        }
        let bwrap = first_existing(BWRAP_PATHS).ok_or_else(|| {
            unavailable(
                "bubblewrap (`bwrap`) is not installed",
                "`apt-get install bubblewrap`",
            )
        })?;
        let setpriv = if rustix::process::geteuid().is_root() {
            Some(first_existing(SETPRIV_PATHS).ok_or_else(|| {
                unavailable(
                    "running as root needs `setpriv` to drop to nobody before bubblewrap",
                    "`apt-get install util-linux`, or run the host as an ordinary user",
                )
            })?)
        } else {
            None
        };
        Ok(Container {
            bwrap,
            setpriv,
            exec,
            exec_args,
            net_tool: net::find(),
            layout: cgroup::detect_and_reap(),
        })
    }

    /// Uses `tool` as slirp4netns for jobs granted network, instead of the one found on the
    /// machine (a path that does not exist makes such jobs refused, as on a machine without).
    pub fn with_network_tool(mut self, tool: PathBuf) -> Self {
        self.net_tool = Some(tool);
        self
    }

    /// The tier as a host without a usable cgroup runs it (a user session with no delegated
    /// controllers): rlimits stand in for the memory and process limits. For the tests of
    /// that fallback, on machines that do have a cgroup.
    pub fn without_cgroups(mut self) -> Self {
        self.layout = Layout::None {
            why: "cgroups left out on purpose".into(),
        };
        self
    }

    /// The cgroup layout in use.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The full command line: `[setpriv …] bwrap … -- launcher … -- runtime …`.
    fn command_line(&self, spec: &JobSpec, rt: &runtime::Runtime, filters: usize) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
        if let Some(setpriv) = &self.setpriv {
            push(&[
                &setpriv.to_string_lossy(),
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
            ]);
        }
        push(&[&self.bwrap.to_string_lossy()]);
        // The job's network namespace is always its own: with network, slirp4netns connects it
        // from outside (`net`), never the host's namespace and its loopback.
        push(&["--unshare-all", "--unshare-user", "--unshare-net"]);
        push(&[
            "--die-with-parent",
            "--new-session",
            "--uid",
            "65534",
            "--gid",
            "65534",
            "--cap-drop",
            "ALL",
            "--disable-userns",
            "--hostname",
            "bridle-job",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/sbin",
            "/sbin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
        ]);
        let etc = ETC_FILES
            .iter()
            .chain(if spec.network { ETC_NETWORK_FILES } else { &[] });
        for path in etc {
            push(&["--ro-bind-try", path, path]);
        }
        if spec.network {
            push(&["--ro-bind-data", &FD_RESOLV.to_string(), "/etc/resolv.conf"]);
        }
        let size = spec.limits.memory.to_string();
        push(&[
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            &size,
            "--tmpfs",
            "/tmp",
            "--size",
            &size,
            "--tmpfs",
            WORKDIR,
            "--perms",
            "0444",
            "--file",
            "3",
            &rt.code_path,
            "--chdir",
            WORKDIR,
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/bin:/bin",
            "--setenv",
            "HOME",
            WORKDIR,
            "--setenv",
            "TMPDIR",
            "/tmp",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--block-fd",
            "4",
            "--info-fd",
            "5",
        ]);
        for i in 0..filters {
            push(&["--add-seccomp-fd", &(FD_SECCOMP + i as i32).to_string()]);
        }
        push(&["--ro-bind", &self.exec.to_string_lossy(), EXEC_IN_SANDBOX]);
        push(&["--", EXEC_IN_SANDBOX]);
        for arg in &self.exec_args {
            push(&[arg]);
        }
        if spec.network {
            push(&["--network"]);
        }
        if matches!(self.layout, Layout::None { .. }) {
            // No cgroup: rlimits stand in. RLIMIT_AS caps address space, not memory, and
            // RLIMIT_NPROC counts the uid's processes host-wide; both are weaker, and said so
            // by `bridle doctor`.
            push(&["--as", &spec.limits.memory.to_string()]);
            push(&["--nproc", &spec.limits.pids.to_string()]);
        }
        push(&["--fsize", &spec.limits.memory.to_string(), "--"]);
        for arg in rt.argv() {
            push(&[&arg]);
        }
        a
    }
}

/// A pipe whose read end bubblewrap gets and whose contents are already written (filters and
/// the resolver file are a few hundred bytes: far below the pipe buffer, so the write cannot
/// block).
fn pipe_with(bytes: &[u8]) -> Result<OwnedFd, SandboxError> {
    let (read, write) = rustix::pipe::pipe().map_err(|e| SandboxError::io("pipe", e.into()))?;
    let mut file = std::fs::File::from(write);
    file.write_all(bytes)
        .map_err(|e| SandboxError::io("write seccomp filter to pipe", e))?;
    Ok(read)
}

/// An anonymous in-memory file with `bytes`, rewound (code and stdin: any size).
fn memfd_with(name: &str, bytes: &[u8]) -> Result<std::fs::File, SandboxError> {
    let fd = rustix::fs::memfd_create(name, rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| SandboxError::io(format!("memfd_create {name}"), e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)
        .map_err(|e| SandboxError::io(format!("write {name}"), e))?;
    file.rewind()
        .map_err(|e| SandboxError::io(format!("rewind {name}"), e))?;
    Ok(file)
}

/// Kills the sandbox on every path: the pid namespace's init through its pidfd (the kernel
/// then kills every process in the namespace), bwrap itself, then the cgroup's leftovers, and
/// reaps bwrap. Dropping it is the only way a run ends.
struct Cleanup {
    child: Child,
    init: Option<OwnedFd>,
    cgroup: Option<JobCgroup>,
    /// The job's slirp4netns, when it has network: killed after the sandbox.
    net: Option<net::JobNetwork>,
}

impl Cleanup {
    fn kill(&mut self) {
        if let Some(init) = &self.init {
            let _ = rustix::process::pidfd_send_signal(init, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.kill();
        let _ = self.child.wait();
        // Dropping the cgroup kills any straggler and removes the directories.
        self.cgroup.take();
        // Dropping the network kills and reaps slirp4netns.
        self.net.take();
    }
}

/// bubblewrap died (or hung) before starting the job: kill it and put its own words in the
/// error, since they name the cause (`No permissions to create new namespace` …).
fn start_failure(guard: &mut Cleanup, e: SandboxError) -> SandboxError {
    guard.kill();
    let _ = guard.child.wait();
    let mut said = String::new();
    if let Some(mut stderr) = guard.child.stderr.take() {
        let _ = stderr.read_to_string(&mut said);
    }
    let said = said.trim();
    if said.is_empty() {
        return e;
    }
    unavailable(
        format!("bubblewrap failed before starting the job: {said}"),
        "run `bridle doctor`",
    )
}

/// Reads `{"child-pid": N}` from bubblewrap's info pipe.
fn read_child_pid(info: OwnedFd) -> Result<i32, SandboxError> {
    let (tx, rx) = mpsc::channel();
    // A thread, so a bubblewrap that hangs before writing cannot hang the host: the timeout
    // below abandons it, and the kill in Cleanup closes the pipe, ending the thread.
    std::thread::spawn(move || {
        let mut file = std::fs::File::from(info);
        let mut text = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    text.extend_from_slice(&buf[..n]);
                    if text.contains(&b'}') {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(text);
    });
    let text = rx
        .recv_timeout(START_TIMEOUT)
        .map_err(|_| unavailable("bubblewrap did not start in time", "see `bridle doctor`"))?;
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|_| {
        unavailable(
            "bubblewrap failed before starting the job (user namespaces unavailable?)",
            "run `bridle doctor`",
        )
    })?;
    value
        .get("child-pid")
        .and_then(serde_json::Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| unavailable("bubblewrap reported no child pid", "run `bridle doctor`"))
}

/// Reads a pipe in bounded chunks into the channel until EOF.
fn pump(mut from: impl Read + Send + 'static, stream: Stream, tx: mpsc::Sender<Event>) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; MAX_CHUNK];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(Event::Data(stream, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Event::Eof);
    });
}

enum Event {
    Data(Stream, Vec<u8>),
    Eof,
}

/// A signal number's name, for the outcome.
fn signal_name(sig: i32) -> String {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => return format!("SIG{sig}"),
    }
    .to_owned()
}

impl Sandbox for Container {
    fn run(
        &self,
        spec: &JobSpec,
        sink: &mut dyn OutputSink,
        cancel: &Cancel,
    ) -> Result<JobOutcome, SandboxError> {
        let started = Instant::now();
        if spec.tier != Tier::Container {
            return Err(SandboxError::BadSpec(format!(
                "a `{}` job sent to the container tier",
                spec.tier
            )));
        }
        let rt = runtime::Runtime::find(&spec.runtime)?;
        // Refused before anything starts: a job granted network without the tool to give it
        // one must not run with none (or worse, the host's).
        let net_tool = if spec.network {
            Some(net::require(self.net_tool.as_deref())?.to_path_buf())
        } else {
            None
        };
        let filters = seccomp::filter_bytes(spec.network)
            .map_err(|e| SandboxError::BadSpec(e.to_string()))?;
        let code = memfd_with("bridle-code", &spec.code)?;
        let input = memfd_with("bridle-input", &spec.input)?;
        let (block_read, block_write) =
            rustix::pipe::pipe().map_err(|e| SandboxError::io("pipe", e.into()))?;
        let (info_read, info_write) =
            rustix::pipe::pipe().map_err(|e| SandboxError::io("pipe", e.into()))?;
        let mut mappings = vec![
            FdMapping {
                parent_fd: code.into(),
                child_fd: FD_CODE,
            },
            FdMapping {
                parent_fd: block_read,
                child_fd: FD_BLOCK,
            },
            FdMapping {
                parent_fd: info_write,
                child_fd: FD_INFO,
            },
        ];
        for (i, filter) in filters.iter().enumerate() {
            mappings.push(FdMapping {
                parent_fd: pipe_with(filter)?,
                child_fd: FD_SECCOMP + i as i32,
            });
        }
        if spec.network {
            mappings.push(FdMapping {
                parent_fd: pipe_with(net::RESOLV_CONF)?,
                child_fd: FD_RESOLV,
            });
        }

        let cgroup = JobCgroup::create(
            &self.layout,
            CgroupLimits {
                memory: spec.limits.memory,
                pids: spec.limits.pids,
                cpu: spec.limits.cpu,
            },
        )
        .map_err(|e| SandboxError::io("create the job cgroup", e))?;

        let argv = self.command_line(spec, &rt, filters.len());
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| SandboxError::BadSpec("empty command line".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .stdin(Stdio::from(input))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .fd_mappings(mappings)
            .map_err(|e| SandboxError::BadSpec(e.to_string()))?;
        let child = cmd
            .spawn()
            .map_err(|e| SandboxError::io(format!("spawn {}", program.to_string_lossy()), e))?;
        // The command holds the parent's copies of the mapped descriptors: close them now, so
        // the info pipe reaches EOF if bubblewrap dies.
        drop(cmd);
        let mut guard = Cleanup {
            child,
            init: None,
            cgroup,
            net: None,
        };
        let bwrap_pid = guard.child.id();
        if let Some(cg) = &guard.cgroup {
            cg.add(bwrap_pid)
                .map_err(|e| SandboxError::io("move bubblewrap into the job cgroup", e))?;
        }
        let init_pid = match read_child_pid(info_read) {
            Ok(pid) => pid,
            Err(e) => return Err(start_failure(&mut guard, e)),
        };
        let pid = rustix::process::Pid::from_raw(init_pid)
            .ok_or_else(|| unavailable("bubblewrap reported pid 0", "run `bridle doctor`"))?;
        // The init is blocked on FD_BLOCK, so it cannot have exited: the pid is its own.
        guard.init = Some(
            rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
                .map_err(|e| SandboxError::io("pidfd_open the sandbox init", e.into()))?,
        );
        if let Some(cg) = &guard.cgroup {
            cg.add(init_pid as u32)
                .map_err(|e| SandboxError::io("move the sandbox into the job cgroup", e))?;
        }
        if let (Some(tool), Some(init)) = (&net_tool, &guard.init) {
            match net::JobNetwork::attach(tool, init_pid, init) {
                Ok(network) => guard.net = Some(network),
                Err(e) => return Err(start_failure(&mut guard, e.into())),
            }
        }
        // Go: the sandbox runs the launcher, which applies Landlock and rlimits and execs the job.
        std::fs::File::from(block_write)
            .write_all(b"1")
            .map_err(|e| SandboxError::io("release the sandbox", e))?;

        let (tx, rx) = mpsc::channel();
        let (Some(stdout), Some(stderr)) = (guard.child.stdout.take(), guard.child.stderr.take())
        else {
            return Err(SandboxError::BadSpec("no output pipes".into()));
        };
        pump(stdout, Stream::Stdout, tx.clone());
        pump(stderr, Stream::Stderr, tx);

        let mut outcome = JobOutcome::default();
        let mut budget = OutputBudget::new(spec.limits.output, sink);
        let deadline = started + spec.limits.wall;
        let mut open_streams = 2;
        let mut status = None;
        let mut killed = false;
        while open_streams > 0 || status.is_none() {
            let now = Instant::now();
            if !killed && now >= deadline {
                outcome.hit(LimitHit::Wall);
                guard.kill();
                killed = true;
            } else if !killed && cancel.is_cancelled() {
                outcome.hit(LimitHit::Cancelled);
                guard.kill();
                killed = true;
            }
            if open_streams > 0 {
                let wait = deadline
                    .saturating_duration_since(now)
                    .clamp(Duration::from_millis(1), POLL);
                match rx.recv_timeout(wait) {
                    Ok(Event::Data(stream, bytes)) => {
                        budget.push(stream, &bytes);
                    }
                    Ok(Event::Eof) => open_streams -= 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => open_streams = 0,
                }
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
            if status.is_none() {
                status = guard
                    .child
                    .try_wait()
                    .map_err(|e| SandboxError::io("wait for bubblewrap", e))?;
            }
            if status.is_some() && open_streams > 0 && killed {
                // Killed and reaped: anything still holding the pipes dies with the cgroup.
                if let Some(cg) = &guard.cgroup {
                    cg.kill_all();
                }
            }
        }
        budget.finish(&mut outcome);
        if let Some(cg) = &guard.cgroup {
            let stats = cg.stats();
            outcome.peak_memory = stats.peak_memory;
            outcome.cpu_ms = stats.cpu_ms;
            if stats.memory_hit {
                outcome.hit(LimitHit::Memory);
            }
            if stats.pids_hit {
                outcome.hit(LimitHit::Pids);
            }
            if stats.cpu_throttled {
                outcome.hit(LimitHit::Cpu);
            }
        }
        drop(guard);
        if let Some(status) = status {
            // bubblewrap exits with the job's status, or 128+N when the job died of signal N
            // (the shell's convention, so an `exit(137)` reads as SIGKILL too).
            match (status.code(), status.signal()) {
                (_, Some(sig)) => outcome.signal = Some(signal_name(sig)),
                (Some(code), None) if killed => {
                    let _ = code;
                    outcome.signal = Some(signal_name(9));
                }
                (Some(code), None) if code > 128 && code <= 128 + 64 => {
                    outcome.signal = Some(signal_name(code - 128));
                }
                (Some(code), None) => outcome.exit = Some(code),
                (None, None) => {}
            }
        }
        outcome.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(outcome)
    }
}

/// The launcher path a test or benchmark can pass to [`Container::with_launcher`].
pub fn launcher_args() -> Vec<String> {
    vec![shim::SUBCOMMAND.to_owned()]
}

/// Whether `path` names an existing file (for `bridle doctor`).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
