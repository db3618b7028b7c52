//! The microVM tier: one throwaway QEMU `microvm` guest per job, destroyed afterwards.
//!
//! The guest is Bridle's own (`scripts/guest-kernel.sh` builds it into `target/guest/`): a tiny
//! Linux 6.1 booted as an uncompressed ELF, and a static init (`host/guest-init/`). The host's
//! `/usr` (the runtimes) and a per-job folder holding the code and input are exported read-only
//! over virtio-9p; output and the exit status come back as frames over one virtio-serial port
//! (`bridle_guest_init` has the protocol). There is no network card unless the job is granted
//! network: then a virtio-net device backed by a host-side passt ([`net`]; such a job restores
//! a snapshot of its own that has the card, never one without). The guest's memory is the
//! job's limit plus a fixed overhead (the guest's OOM killer enforces it, init is exempt),
//! and the host kills QEMU at the wall-clock limit, on cancel, and when output exceeds the
//! budget. A CPU limit below the VM's one vCPU puts QEMU in a host cgroup with that quota
//! (`container::cgroup`, CPU only). Peak memory, CPU time and a process limit reached are
//! reported by the guest's init. The VM and its folder are destroyed on every path
//! ([`vm::Vm`], [`vm::WorkDir`]); if the host itself is killed, the guest sees the channel hang up and ends the VM, and the
//! next host sweeps the dead host's folders.
//!
//! Starting: KVM when a probe guest really boots ([`probe_kvm`]; `/dev/kvm` existing is not
//! enough, see `TOOLCHAIN.md`), TCG otherwise. [`Boot::Snapshot`] restores a guest saved once
//! at the point where init waits for its job, before any job data exists in it; each restore
//! gets fresh entropy and the host's clock (see [`snapshot`]). [`Boot::Warm`], the default,
//! does the same and restores a `python3` job from a snapshot of its own in which the
//! interpreter already started and waits to become the job ([`warm`]): under TCG that takes
//! a Python job's first output from about 0.55 s to about 0.19 s (`bench/RESULTS.md`).

pub mod net;
pub mod snapshot;
pub mod vm;
pub mod warm;

use crate::container::cgroup::{self, JobCgroup, Layout};
use crate::job::{
    Cancel, JobOutcome, JobSpec, LimitHit, OutputBudget, OutputSink, Sandbox, SandboxError, Stream,
    Tier,
};
use bridle_guest_init::{
    write_frame, ExitReport, FrameReader, Go, WarmFiles, SEED_LEN, TAG_EXIT, TAG_FATAL, TAG_GO,
    TAG_READY, TAG_STARTED, TAG_STDERR, TAG_STDOUT,
};
use std::io::{self, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vm::{Accel, Machine, Start, Vm, WorkDir};

pub use vm::Accel as MicrovmAccel;

/// How long a guest may take from QEMU's start to running the job. Generous: TCG on a loaded
/// machine is slow, and this is not the job's time (its wall clock starts when it runs).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a KVM probe guest gets to report ready before KVM is declared unusable.
pub const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the host wakes to check the wall clock, cancel and QEMU's liveness.
const POLL: Duration = Duration::from_millis(5);
/// The smallest memory limit a guest can run a runtime in.
pub const MIN_MEMORY: u64 = 16 * 1024 * 1024;
/// The largest memory limit this tier gives a guest.
pub const MAX_MEMORY: u64 = 16 * 1024 * 1024 * 1024;
/// The job's `/tmp` (tmpfs, in guest memory) may use at most this fraction of its memory limit.
const TMP_FRACTION: u64 = 2;
/// The largest code or input file handed to a guest.
pub const MAX_JOB_FILE: usize = 64 * 1024 * 1024;
/// Runtimes by their policy name, and where they live under the shared `/usr`.
pub const RUNTIMES: [(&str, &str); 3] = [
    ("python3", "bin/python3"),
    ("sh", "bin/sh"),
    ("node", "bin/node"),
];

/// How a job's VM starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// Boot the kernel for every job.
    Cold,
    /// Restore a pre-booted guest (saved once, before any job data) for every job.
    Snapshot,
    /// As [`Boot::Snapshot`], and a `python3` job's guest is restored from a snapshot of its
    /// own in which the interpreter has already started and waits to become the job
    /// ([`warm`]; `host/guest-init/src/warm.rs`).
    Warm,
}

/// Where the guest's parts are.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub qemu: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
}

impl Artifacts {
    /// The guest built by `scripts/guest-kernel.sh`: `$BRIDLE_GUEST_DIR`, or the workspace's
    /// `target/guest/`; QEMU from `$BRIDLE_QEMU` or `PATH`.
    pub fn locate() -> Result<Self, SandboxError> {
        let dir = std::env::var_os("BRIDLE_GUEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join("target")
                    .join("guest")
            });
        Self::in_dir(&dir)
    }

    /// The guest in `dir` (`vmlinux`, `initrd.cpio`).
    pub fn in_dir(dir: &Path) -> Result<Self, SandboxError> {
        let kernel = dir.join("vmlinux");
        let initrd = dir.join("initrd.cpio");
        for (what, path) in [("guest kernel", &kernel), ("guest initramfs", &initrd)] {
            if !path.is_file() {
                return Err(unavailable(
                    format!("the {what} {} is missing", path.display()),
                    "run scripts/guest-kernel.sh (it builds target/guest/), or set \
                     BRIDLE_GUEST_DIR to a folder holding vmlinux and initrd.cpio",
                ));
            }
        }
        let qemu = match std::env::var_os("BRIDLE_QEMU") {
            Some(q) => PathBuf::from(q),
            None => find_in_path("qemu-system-x86_64").ok_or_else(|| {
                unavailable(
                    "qemu-system-x86_64 is not installed",
                    "apt-get install qemu-system-x86 (or run .ci/setup)",
                )
            })?,
        };
        Ok(Artifacts {
            qemu,
            kernel,
            initrd,
        })
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn unavailable(reason: impl Into<String>, fix: impl Into<String>) -> SandboxError {
    SandboxError::Unavailable {
        tier: Tier::Microvm,
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// The microVM tier, configured.
#[derive(Debug, Clone)]
pub struct Microvm {
    artifacts: Artifacts,
    usr: PathBuf,
    accel: Accel,
    boot: Boot,
    snapshots: PathBuf,
    work_root: PathBuf,
    /// passt, for jobs granted network ([`net`]); checked when such a job comes.
    net_tool: Option<PathBuf>,
    /// Where a job's CPU cgroup goes (a CPU limit below [`vm::VCPUS`] puts QEMU in one).
    cgroups: Layout,
    /// The files a warm `python3` needs, or why it cannot have them; found at the first job
    /// that could use them.
    warm_python: OnceLock<Result<WarmFiles, String>>,
}

impl Microvm {
    /// The tier as this machine offers it: the located guest, the accelerator a probe found
    /// (`BRIDLE_MICROVM_ACCEL=tcg|kvm` overrides), and the boot mode (`BRIDLE_MICROVM_BOOT=
    /// cold|snapshot|warm`; default [`DEFAULT_BOOT`]). Snapshots are cached in
    /// `$BRIDLE_MICROVM_CACHE`, else `$XDG_CACHE_HOME/bridle/microvm`, else
    /// `~/.cache/bridle/microvm`.
    pub fn from_env() -> Result<Self, SandboxError> {
        let artifacts = Artifacts::locate()?;
        let accel = match std::env::var("BRIDLE_MICROVM_ACCEL").as_deref() {
            Ok("tcg") => Accel::Tcg,
            Ok("kvm") => Accel::Kvm,
            _ => detected_accel(&artifacts),
        };
        let boot = match std::env::var("BRIDLE_MICROVM_BOOT").as_deref() {
            Ok("cold") => Boot::Cold,
            Ok("snapshot") => Boot::Snapshot,
            Ok("warm") => Boot::Warm,
            _ => DEFAULT_BOOT,
        };
        let snapshots = std::env::var_os("BRIDLE_MICROVM_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("bridle/microvm"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bridle/microvm"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("bridle-microvm-cache"));
        Ok(Self::new(artifacts, accel, boot, snapshots))
    }

    /// A tier with everything explicit (tests and benchmarks).
    pub fn new(artifacts: Artifacts, accel: Accel, boot: Boot, snapshots: PathBuf) -> Self {
        Microvm {
            artifacts,
            usr: PathBuf::from("/usr"),
            accel,
            boot,
            snapshots,
            work_root: std::env::temp_dir(),
            net_tool: net::find(),
            cgroups: cgroup::detect_and_reap(),
            warm_python: OnceLock::new(),
        }
    }

    /// The files a warm `python3` copies into its guest, or why there is no warm `python3`
    /// here (then `python3` jobs restore the plain snapshot).
    pub fn warm_python(&self) -> Result<&WarmFiles, &str> {
        self.warm_python
            .get_or_init(|| warm::python3(&self.usr))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Uses `tool` as passt for jobs granted network, instead of the one found on the machine
    /// (a path that does not exist makes such jobs refused, as on a machine without).
    pub fn with_network_tool(mut self, tool: PathBuf) -> Self {
        self.net_tool = Some(tool);
        self
    }

    /// Puts each job's private folder under `root` instead of the system's temporary folder.
    pub fn with_work_root(mut self, root: PathBuf) -> Self {
        self.work_root = root;
        self
    }

    pub fn accel(&self) -> Accel {
        self.accel
    }

    pub fn boot(&self) -> Boot {
        self.boot
    }

    fn machine<'a>(
        &'a self,
        memory_mib: u64,
        warm: Option<&'a WarmFiles>,
        network: bool,
    ) -> Machine<'a> {
        Machine {
            qemu: &self.artifacts.qemu,
            kernel: &self.artifacts.kernel,
            initrd: &self.artifacts.initrd,
            usr: &self.usr,
            accel: self.accel,
            memory_mib: memory_mib
                + if warm.is_some() {
                    vm::WARM_OVERHEAD_MIB
                } else {
                    0
                },
            warm,
            network,
        }
    }

    /// The warm interpreter a job's guest starts with: only restored guests have one, only
    /// `python3` jobs use one, and only where the host's `python3` can be copied.
    fn warm_for(&self, runtime: &str) -> Option<&WarmFiles> {
        let wanted = self.boot == Boot::Warm && runtime == "python3";
        wanted.then(|| self.warm_python().ok()).flatten()
    }

    fn run_job(
        &self,
        spec: &JobSpec,
        sink: &mut dyn OutputSink,
        cancel: &Cancel,
    ) -> Result<JobOutcome, SandboxError> {
        let started = Instant::now();
        let runtime = self.runtime_path(&spec.runtime)?;
        check_spec(spec)?;
        // Refused before anything starts: a job granted network must not run without it.
        let net_tool = if spec.network {
            Some(net::require(self.net_tool.as_deref())?.to_path_buf())
        } else {
            None
        };
        let memory_mib = spec.limits.memory.div_ceil(1024 * 1024) + vm::GUEST_OVERHEAD_MIB;
        let machine = self.machine(memory_mib, self.warm_for(&spec.runtime), spec.network);
        // The snapshot (made once per machine shape; a job granted network restores one with
        // its network card) is opened before this job's files exist.
        let restore = match self.boot {
            Boot::Cold => None,
            Boot::Snapshot | Boot::Warm => Some(snapshot::ensure(&machine, &self.snapshots)?),
        };
        let dir = WorkDir::new(&self.work_root, "bridle-vm")?;
        let job_dir = dir.path().join("job");
        write_job_files(&job_dir, spec)?;
        let channel = dir.path().join("chan.sock");
        let listener = UnixListener::bind(&channel)
            .map_err(|e| SandboxError::io(format!("bind {}", channel.display()), e))?;
        let qmp = dir.path().join("qmp.sock");
        let start = match &restore {
            None => Start::Cold,
            Some(snap) => Start::Restore {
                state: snap.open_state()?,
                ram: snap.ram.clone(),
                qmp: qmp.clone(),
            },
        };
        // passt before QEMU (QEMU gets its peer socket), and dropped after it: `vm` is declared
        // later, so it is destroyed first on every path.
        let passt_log = dir.path().join("passt.err");
        let (mut passt, net_fd) = match &net_tool {
            Some(tool) => {
                let (passt, fd) = net::Passt::start(tool, &passt_log)?;
                (Some(passt), Some(fd))
            }
            None => (None, None),
        };
        // A CPU limit below the VM's vCPUs: QEMU (all its threads, so emulation overhead
        // counts against the job) gets that quota in a host cgroup, created before and dropped
        // after the VM (declared first), which kills whatever it still holds. No memory or pids
        // limit there: `-m` bounds the guest, and the guest enforces the job's own.
        let cpu_cgroup = if spec.limits.cpu < f64::from(vm::VCPUS) {
            let cg = JobCgroup::create_cpu(&self.cgroups, spec.limits.cpu)
                .map_err(|e| SandboxError::io("create the VM's CPU cgroup", e))?;
            Some(cg.ok_or_else(|| {
                unavailable(
                    format!(
                        "a CPU limit below {} core(s) needs a CPU cgroup, and this host offers \
                         none ({})",
                        vm::VCPUS,
                        self.cgroups.name()
                    ),
                    "run the host where it may create cgroups (run `bridle doctor`), or \
                     allow a whole core",
                )
            })?)
        } else {
            None
        };
        let mut vm =
            Vm::spawn_with_network(&machine, dir.path(), &channel, &job_dir, start, net_fd)?;
        // QEMU runs unthrottled for the moment until it is moved (no unsafe pre-exec hook).
        if let Some(cg) = &cpu_cgroup {
            cg.add(vm.pid())
                .map_err(|e| SandboxError::io("move QEMU into its CPU cgroup", e))?;
        }
        let stream = accept(&listener, &mut vm, cancel)?;
        if restore.is_some() {
            snapshot::incoming(&qmp, Instant::now() + BOOT_TIMEOUT)
                .map_err(|e| guest_failed(&format!("restoring the snapshot: {e}"), &vm))?;
        }
        let mut seed = [0u8; SEED_LEN];
        vm::random_bytes(&mut seed)?;
        let go = Go {
            seed,
            unix_nanos: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            runtime,
            pids: spec.limits.pids,
            tmp_bytes: spec.limits.memory / TMP_FRACTION,
            network: spec.network,
        };
        let mut budget = OutputBudget::new(spec.limits.output, sink);
        let end = {
            let mut session = Session {
                stream,
                vm: &mut vm,
                frames: FrameReader::new(),
                cancel,
            };
            // passt fails fast (bad options, no resources) or not at all: by the time the guest
            // has booted, or been restored (QEMU's start and the incoming migration, over
            // 0.1 s), it is either gone or serving. A job granted network must not start
            // without it, so with network the GO waits for that check (and a booting guest's
            // READY; a restored one said it before it was saved).
            let ready = match passt.as_mut() {
                Some(p) => if restore.is_none() {
                    session.wait_ready()
                } else {
                    Ok(())
                }
                .and_then(|()| {
                    if p.exited() {
                        Err(PumpError::Sandbox(net::failed(&passt_log)))
                    } else {
                        Ok(())
                    }
                }),
                None => Ok(()),
            };
            match ready {
                Ok(()) => {
                    session.send_go(&go)?;
                    session.pump(spec.limits.wall, &mut budget)
                }
                Err(e) => Err(e),
            }
        };
        let mut outcome = JobOutcome::default();
        // Destroy the VM before reporting, whatever happened; the work folder follows on drop.
        vm.destroy();
        let end = end.map_err(|e| match e {
            PumpError::Guest(message) => guest_failed(&message, &vm),
            PumpError::Sandbox(e) => e,
        })?;
        match end {
            End::Exited(report) => {
                outcome.exit = report.code;
                outcome.signal = report.signal.map(signal_name);
                outcome.cpu_ms = Some(report.cpu_ms);
                outcome.peak_memory = Some(report.peak_rss);
                if report.oom {
                    outcome.hit(LimitHit::Memory);
                }
                if report.pids_hit {
                    outcome.hit(LimitHit::Pids);
                }
            }
            End::Killed(limit) => {
                outcome.signal = Some("SIGKILL".to_owned());
                outcome.hit(limit);
            }
        }
        if let Some(cg) = &cpu_cgroup {
            let stats = cg.stats();
            // The guest's clock runs on while the host withholds the vCPU, so the guest counts
            // throttled time as the job's: QEMU's own CPU time bounds it.
            if let (Some(guest), Some(host)) = (outcome.cpu_ms, stats.cpu_ms) {
                outcome.cpu_ms = Some(guest.min(host));
            }
            if stats.cpu_throttled {
                outcome.hit(LimitHit::Cpu);
            }
        }
        drop(cpu_cgroup);
        budget.finish(&mut outcome);
        drop(passt);
        drop(dir);
        outcome.wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(outcome)
    }

    /// The runtime's path inside the guest, if the shared `/usr` has it.
    fn runtime_path(&self, name: &str) -> Result<String, SandboxError> {
        let rel = RUNTIMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rel)| *rel)
            .ok_or_else(|| SandboxError::UnknownRuntime(name.to_owned()))?;
        if !self.usr.join(rel).exists() {
            return Err(SandboxError::UnknownRuntime(format!(
                "{name} (not installed under {})",
                self.usr.display()
            )));
        }
        Ok(format!("/usr/{rel}"))
    }

    /// Saves the pre-booted guest for a memory limit and a runtime now, instead of at the
    /// first job (a warm `python3` has a snapshot of its own).
    pub fn prepare_snapshot(
        &self,
        memory: u64,
        runtime: &str,
    ) -> Result<snapshot::Snapshot, SandboxError> {
        let memory_mib = memory.div_ceil(1024 * 1024) + vm::GUEST_OVERHEAD_MIB;
        let machine = self.machine(memory_mib, self.warm_for(runtime), false);
        snapshot::ensure(&machine, &self.snapshots)
    }
}

impl Sandbox for Microvm {
    fn run(
        &self,
        spec: &JobSpec,
        sink: &mut dyn OutputSink,
        cancel: &Cancel,
    ) -> Result<JobOutcome, SandboxError> {
        self.run_job(spec, sink, cancel)
    }
}

/// The boot mode used unless `BRIDLE_MICROVM_BOOT` says otherwise: see `bench/RESULTS.md`.
pub const DEFAULT_BOOT: Boot = Boot::Warm;

/// Runs one job in a fresh microVM configured from the environment ([`Microvm::from_env`]).
pub fn run(
    spec: &JobSpec,
    sink: &mut dyn OutputSink,
    cancel: &Cancel,
) -> Result<JobOutcome, SandboxError> {
    Microvm::from_env()?.run(spec, sink, cancel)
}

fn check_spec(spec: &JobSpec) -> Result<(), SandboxError> {
    let memory = spec.limits.memory;
    if !(MIN_MEMORY..=MAX_MEMORY).contains(&memory) {
        return Err(SandboxError::BadSpec(format!(
            "memory limit {memory} bytes is outside {MIN_MEMORY}..={MAX_MEMORY} for a microVM"
        )));
    }
    if spec.code.len() > MAX_JOB_FILE || spec.input.len() > MAX_JOB_FILE {
        return Err(SandboxError::BadSpec(format!(
            "code and input are limited to {MAX_JOB_FILE} bytes each"
        )));
    }
    if spec.limits.wall.is_zero() || spec.limits.pids == 0 {
        return Err(SandboxError::BadSpec(
            "wall-clock and process limits must be positive".to_owned(),
        ));
    }
    Ok(())
}

fn write_job_files(job_dir: &Path, spec: &JobSpec) -> Result<(), SandboxError> {
    std::fs::create_dir(job_dir)
        .map_err(|e| SandboxError::io(format!("mkdir {}", job_dir.display()), e))?;
    for (name, bytes) in [("code", &spec.code), ("input", &spec.input)] {
        let path = job_dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| SandboxError::io(format!("write {}", path.display()), e))?;
    }
    Ok(())
}

/// Waits for QEMU to connect to the channel socket.
fn accept(
    listener: &UnixListener,
    vm: &mut Vm,
    cancel: &Cancel,
) -> Result<UnixStream, SandboxError> {
    listener
        .set_nonblocking(true)
        .map_err(|e| SandboxError::io("channel socket", e))?;
    let deadline = Instant::now() + BOOT_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream
                    .set_nonblocking(false)
                    .and_then(|()| stream.set_read_timeout(Some(POLL)))
                    .map_err(|e| SandboxError::io("channel socket", e))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(SandboxError::io("accept the guest channel", e)),
        }
        if vm.exited() {
            return Err(guest_failed("QEMU exited before connecting", vm));
        }
        if Instant::now() >= deadline {
            return Err(guest_failed("QEMU did not connect in time", vm));
        }
        if cancel.wait_timeout(Duration::from_millis(1)) {
            return Err(SandboxError::io(
                "start the microVM",
                io::Error::new(io::ErrorKind::Interrupted, "cancelled"),
            ));
        }
    }
}

fn guest_failed(message: &str, vm: &Vm) -> SandboxError {
    SandboxError::io(
        "microVM guest",
        io::Error::other(format!("{message}{}", vm.diagnostics())),
    )
}

/// How a job's run ended, as far as the host is concerned.
enum End {
    /// The guest reported the job's end.
    Exited(ExitReport),
    /// The host destroyed the VM for this reason.
    Killed(LimitHit),
}

enum PumpError {
    /// The guest misbehaved or died (the message is for humans).
    Guest(String),
    Sandbox(SandboxError),
}

/// The guest init's FATAL frame: why it gave up.
fn init_failed(payload: &[u8]) -> PumpError {
    PumpError::Guest(format!(
        "guest init failed: {}",
        String::from_utf8_lossy(payload)
    ))
}

struct Session<'a> {
    stream: UnixStream,
    vm: &'a mut Vm,
    frames: FrameReader,
    cancel: &'a Cancel,
}

impl Session<'_> {
    /// Reads until the guest's READY (booted, waiting for GO), within [`BOOT_TIMEOUT`]. Returns
    /// early on cancel: the pump that follows reports it.
    /// Reads what the guest sent into the frame decoder; a closed channel is an error saying
    /// it closed before `what` (and the VM is reaped).
    fn read_channel(&mut self, buf: &mut [u8], what: &str) -> Result<(), PumpError> {
        match self.stream.read(buf) {
            Ok(0) => {
                self.vm.wait_or_kill(Duration::from_millis(200));
                Err(PumpError::Guest(format!(
                    "the guest closed the channel before {what}"
                )))
            }
            Ok(n) => {
                self.frames.feed(&buf[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(PumpError::Sandbox(SandboxError::io(
                "read the guest channel",
                e,
            ))),
        }
    }

    fn wait_ready(&mut self) -> Result<(), PumpError> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        let mut buf = [0u8; 256];
        loop {
            if let Some((tag, payload)) = self
                .frames
                .next_frame()
                .map_err(|e| PumpError::Guest(e.to_string()))?
            {
                match tag {
                    TAG_READY => return Ok(()),
                    TAG_FATAL => return Err(init_failed(&payload)),
                    other => {
                        return Err(PumpError::Guest(format!(
                            "unexpected frame {other:#x} from the guest before READY"
                        )))
                    }
                }
            }
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(PumpError::Guest("the guest did not boot in time".into()));
            }
            self.read_channel(&mut buf, "it was ready")?;
        }
    }

    fn send_go(&mut self, go: &Go) -> Result<(), SandboxError> {
        write_frame(&mut self.stream, TAG_GO, &go.encode())
            .map_err(|e| SandboxError::io("send the job to the guest", io::Error::other(e)))
    }

    /// Reads frames until the job ends or a limit stops it. The wall clock starts when the
    /// guest reports the job running; before that, the boot timeout applies.
    fn pump(&mut self, wall: Duration, budget: &mut OutputBudget<'_>) -> Result<End, PumpError> {
        let mut deadline = Instant::now() + BOOT_TIMEOUT;
        let mut running = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Some((tag, payload)) = self
                .frames
                .next_frame()
                .map_err(|e| PumpError::Guest(e.to_string()))?
            {
                match tag {
                    TAG_READY => {}
                    TAG_STARTED if !running => {
                        running = true;
                        deadline = Instant::now() + wall;
                    }
                    TAG_STDOUT | TAG_STDERR if running => {
                        let stream = if tag == TAG_STDOUT {
                            Stream::Stdout
                        } else {
                            Stream::Stderr
                        };
                        budget.push(stream, &payload);
                        if budget.any_cut() {
                            return Ok(End::Killed(LimitHit::Output));
                        }
                    }
                    TAG_EXIT if running => {
                        return ExitReport::decode(&payload)
                            .map(End::Exited)
                            .map_err(|e| PumpError::Guest(e.to_string()));
                    }
                    TAG_FATAL => return Err(init_failed(&payload)),
                    other => {
                        return Err(PumpError::Guest(format!(
                            "unexpected frame {other:#x} from the guest"
                        )))
                    }
                }
            }
            if self.cancel.is_cancelled() {
                return Ok(End::Killed(LimitHit::Cancelled));
            }
            if Instant::now() >= deadline {
                if running {
                    return Ok(End::Killed(LimitHit::Wall));
                }
                return Err(PumpError::Guest(
                    "the guest did not start the job in time".into(),
                ));
            }
            self.read_channel(&mut buf, "the job ended")?;
        }
    }
}

/// A signal number's name (the guest is x86_64 Linux, like the host).
pub fn signal_name(signo: i32) -> String {
    const NAMES: [(i32, &str); 15] = [
        (1, "SIGHUP"),
        (2, "SIGINT"),
        (3, "SIGQUIT"),
        (4, "SIGILL"),
        (5, "SIGTRAP"),
        (6, "SIGABRT"),
        (7, "SIGBUS"),
        (8, "SIGFPE"),
        (9, "SIGKILL"),
        (11, "SIGSEGV"),
        (13, "SIGPIPE"),
        (14, "SIGALRM"),
        (15, "SIGTERM"),
        (24, "SIGXCPU"),
        (25, "SIGXFSZ"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == signo)
        .map(|(_, name)| (*name).to_owned())
        .unwrap_or_else(|| format!("SIG{signo}"))
}

/// Whether KVM really runs a guest here: `/dev/kvm` must open and a probe guest must boot to
/// init's ready frame within [`KVM_PROBE_TIMEOUT`]. (On this project's build machine
/// `/dev/kvm` exists but is a paravirtual KVM whose guests die in its instruction emulator.)
pub fn probe_kvm(artifacts: &Artifacts) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map_err(|e| format!("/dev/kvm: {e}"))?;
    let usr = PathBuf::from("/usr");
    let machine = Machine {
        qemu: &artifacts.qemu,
        kernel: &artifacts.kernel,
        initrd: &artifacts.initrd,
        usr: &usr,
        accel: Accel::Kvm,
        memory_mib: 64,
        warm: None,
        network: false,
    };
    let dir = WorkDir::new(&std::env::temp_dir(), "bridle-kvm-probe").map_err(|e| e.to_string())?;
    let job_dir = dir.path().join("job");
    std::fs::create_dir(&job_dir).map_err(|e| e.to_string())?;
    let channel = dir.path().join("chan.sock");
    let listener = UnixListener::bind(&channel).map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut vm = Vm::spawn(&machine, dir.path(), &channel, &job_dir, Start::Cold)
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + KVM_PROBE_TIMEOUT;
    let mut stream = None;
    let mut frames = FrameReader::new();
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        if vm.exited() {
            return Err(format!("the KVM probe guest died{}", vm.diagnostics()));
        }
        if stream.is_none() {
            if let Ok((s, _)) = listener.accept() {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                s.set_read_timeout(Some(POLL)).map_err(|e| e.to_string())?;
                stream = Some(s);
            }
        }
        if let Some(s) = stream.as_mut() {
            if let Ok(n) = s.read(&mut buf) {
                frames.feed(&buf[..n]);
            }
            if let Ok(Some((TAG_READY, _))) = frames.next_frame() {
                return Ok(());
            }
        } else {
            std::thread::sleep(POLL);
        }
    }
    Err("the KVM probe guest did not boot in time".to_owned())
}

/// The accelerator for this process: KVM if the probe boots, else TCG (probed once).
pub fn detected_accel(artifacts: &Artifacts) -> Accel {
    static ACCEL: OnceLock<Accel> = OnceLock::new();
    *ACCEL.get_or_init(|| match probe_kvm(artifacts) {
        Ok(()) => Accel::Kvm,
        Err(_) => Accel::Tcg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Limits;

    fn spec() -> JobSpec {
        JobSpec {
            runtime: "sh".into(),
            code: b"echo hi".to_vec(),
            input: Vec::new(),
            limits: Limits::default(),
            network: false,
            tier: Tier::Microvm,
        }
    }

    #[test]
    fn silly_limits_are_refused() {
        let mut s = spec();
        s.network = true;
        assert!(
            check_spec(&s).is_ok(),
            "network is the tier's to give, not a bad spec"
        );
        let mut s = spec();
        s.limits.memory = MIN_MEMORY - 1;
        assert!(matches!(check_spec(&s), Err(SandboxError::BadSpec(_))));
        let mut s = spec();
        s.limits.memory = MAX_MEMORY + 1;
        assert!(check_spec(&s).is_err());
        let mut s = spec();
        s.limits.pids = 0;
        assert!(check_spec(&s).is_err());
        assert!(check_spec(&spec()).is_ok());
    }

    #[test]
    fn unknown_runtimes_are_refused() {
        let tier = Microvm::new(
            Artifacts {
                qemu: "/nonexistent".into(),
                kernel: "/nonexistent".into(),
                initrd: "/nonexistent".into(),
            },
            Accel::Tcg,
            Boot::Cold,
            std::env::temp_dir(),
        );
        assert!(matches!(
            tier.runtime_path("perl"),
            Err(SandboxError::UnknownRuntime(_))
        ));
        assert_eq!(tier.runtime_path("sh").unwrap(), "/usr/bin/sh");
    }

    #[test]
    fn missing_guest_names_the_build_script() {
        let dir = std::env::temp_dir().join("bridle-no-guest-here");
        let err = Artifacts::in_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("scripts/guest-kernel.sh"), "{err}");
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(64), "SIG64");
    }
}
