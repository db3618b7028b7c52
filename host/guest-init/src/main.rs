//! The init (pid 1) of a Bridle microVM guest: prepares the guest, waits for the host's `GO`,
//! runs exactly one job as an unprivileged user, streams its output over the virtio-serial
//! port, reports how it ended, and powers the VM off.
//!
//! Built static (`scripts/guest-kernel.sh`): it runs before the host's `/usr`, and so any libc,
//! is mounted. Everything the job must not touch is set up here, before the job exists: the
//! channel port and every device node except the harmless ones are root-only, the shared `/usr`
//! and the job folder are mounted read-only (QEMU also exports them read-only), `/proc` hides
//! other users' processes, and the job's uid has a process limit. A job granted network gets
//! `eth0` configured ([`net`]) before it starts; any other guest has no network device at all.
//! A snapshot maker's guest may also start a warm interpreter before `READY` ([`warm`]), which
//! a `python3` job's restored copy then becomes instead of starting one.

mod net;
mod warm;

use bridle_guest_init::{
    read_frame, write_frame, ExitReport, Go, ProtoError, WarmFiles, JOB_UID, MAX_FRAME, TAG_EXIT,
    TAG_FATAL, TAG_GO, TAG_READY, TAG_STARTED, TAG_STDERR, TAG_STDOUT,
};
use rustix::fs::Mode;
use rustix::mount::{mount, MountFlags};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The virtio-serial port QEMU exposes as the job channel (the only port of the only device).
const PORT: &str = "/dev/vport0p1";
/// How long init waits for the port's device node to appear after boot.
const PORT_WAIT: Duration = Duration::from_secs(10);
/// After the job's main process exits, how long init waits for its output pipes to drain. An
/// orphan that kept the pipes open does not hold the job (or the VM) up beyond this.
const DRAIN_WAIT: Duration = Duration::from_millis(200);
/// Device nodes the job may open; every other node in `/dev` is made root-only.
const OPEN_DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];
/// 9p mount options: the 9P2000.L dialect, large messages (fewer round trips under TCG), and
/// the page cache (`loose`: the exports are read-only, so nothing can go stale within a job).
const NINEP_OPTS: &str = "trans=virtio,version=9p2000.L,msize=262144,cache=loose";
/// The job's whole environment (a warm interpreter starts with it too).
const JOB_ENV: [(&str, &str); 4] = [
    ("PATH", "/usr/bin:/bin"),
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
    ("LANG", "C.UTF-8"),
];

type Port = Arc<Mutex<File>>;

fn main() {
    let port = match open_port() {
        Ok(port) => Arc::new(Mutex::new(port)),
        Err(e) => {
            // No channel: the serial console is all the host can see.
            eprintln!("bridle-guest-init: {e}");
            power_off();
        }
    };
    if let Err(e) = run(&port) {
        send(&port, TAG_FATAL, e.to_string().as_bytes());
    }
    power_off();
}

/// Why init could not run the job.
#[derive(Debug, thiserror::Error)]
enum InitError {
    #[error("{0}: {1}")]
    Sys(&'static str, io::Error),
    #[error("channel: {0}")]
    Proto(#[from] ProtoError),
    #[error("expected GO from the host, got frame {0:#x}")]
    UnexpectedFrame(u8),
}

/// The warm interpreter the kernel command line asks for, started; `None` when it asks for
/// none (every guest but a snapshot maker's, and their restored copies, which inherit it).
fn warm_up() -> Result<Option<warm::Warm>, InitError> {
    let cmdline = sys(
        "read /proc/cmdline",
        std::fs::read_to_string("/proc/cmdline"),
    )?;
    match WarmFiles::from_cmdline(&cmdline)? {
        Some(files) => Ok(Some(warm::Warm::start(&files, JOB_UID)?)),
        None => Ok(None),
    }
}

fn sys<T>(what: &'static str, r: Result<T, impl Into<io::Error>>) -> Result<T, InitError> {
    r.map_err(|e| InitError::Sys(what, e.into()))
}

fn open_port() -> io::Result<File> {
    let mount_flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    // hidepid=2: the job (an ordinary uid) cannot see init or anything else it did not start.
    mount("proc", "/proc", "proc", mount_flags, c"hidepid=2")?;
    match mount(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        None,
    ) {
        Ok(()) | Err(rustix::io::Errno::BUSY) => {}
        Err(e) => return Err(e.into()),
    }
    // No oom_score_adj for init: the OOM killer never picks the global init, and children would
    // inherit an exemption (leaving the kernel nothing to kill but a panic).
    let deadline = Instant::now() + PORT_WAIT;
    loop {
        match OpenOptions::new().read(true).write(true).open(PORT) {
            Ok(f) => return Ok(f),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn run(port: &Port) -> Result<(), InitError> {
    lock_down_devices()?;
    let warm = warm_up()?;
    send(port, TAG_READY, b"");
    // A snapshot of the guest is taken while init waits here: nothing job-specific has entered
    // the guest yet, and everything below happens afresh in every restored copy.
    let go = receive_go(port)?;
    watch_host(port);
    reseed(&go.seed)?;
    let secs = go.unix_nanos / 1_000_000_000;
    let nanos = go.unix_nanos % 1_000_000_000;
    sys(
        "set the clock",
        rustix::time::clock_settime(
            rustix::time::ClockId::Realtime,
            rustix::time::Timespec {
                tv_sec: i64::try_from(secs).unwrap_or(i64::MAX),
                tv_nsec: i64::try_from(nanos).unwrap_or(0),
            },
        ),
    )?;
    let ro = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
    let opts = std::ffi::CString::new(NINEP_OPTS).map_err(|e| InitError::Sys("9p", e.into()))?;
    sys(
        "mount the shared /usr",
        mount("usr", "/usr", "9p", ro, opts.as_c_str()),
    )?;
    sys(
        "mount the job folder",
        mount(
            "job",
            "/job",
            "9p",
            ro | MountFlags::NOEXEC,
            opts.as_c_str(),
        ),
    )?;
    let tmp_opts = std::ffi::CString::new(format!("size={},mode=1777", go.tmp_bytes.max(4096)))
        .map_err(|e| InitError::Sys("tmpfs", e.into()))?;
    sys(
        "mount /tmp",
        mount(
            "tmpfs",
            "/tmp",
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            tmp_opts.as_c_str(),
        ),
    )?;
    // Inherited by the job; counted per uid, so init (root) is unaffected.
    let nproc = rustix::process::Rlimit {
        current: Some(u64::from(go.pids)),
        maximum: Some(u64::from(go.pids)),
    };
    sys(
        "limit processes",
        rustix::process::setrlimit(rustix::process::Resource::Nproc, nproc),
    )?;
    let no_core = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    sys(
        "disable core dumps",
        rustix::process::setrlimit(rustix::process::Resource::Core, no_core),
    )?;
    if go.network {
        net::configure().map_err(|(what, e)| InitError::Sys(what, e))?;
    }
    run_job(port, &go, warm)
}

fn run_job(port: &Port, go: &Go, warm: Option<warm::Warm>) -> Result<(), InitError> {
    let oom_before = oom_kills();
    let mut child = match warm {
        Some(w) if w.serves(&go.runtime) => w.go(go.pids)?,
        other => {
            if let Some(mut w) = other {
                w.discard();
            }
            let input = sys("open the job's input", File::open("/job/input"))?;
            sys(
                "start the runtime",
                Command::new(&go.runtime)
                    .arg("/job/code")
                    .uid(JOB_UID)
                    .gid(JOB_UID)
                    .current_dir("/tmp")
                    .env_clear()
                    .envs(JOB_ENV)
                    .stdin(Stdio::from(input))
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn(),
            )?
        }
    };
    send(port, TAG_STARTED, b"");
    let pids_watch = PidsWatch::start(go.pids);
    let (done_tx, done_rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        pump(out, TAG_STDOUT, Arc::clone(port), done_tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        pump(err, TAG_STDERR, Arc::clone(port), done_tx.clone());
    }
    drop(done_tx);
    let status = sys("wait for the job", child.wait())?;
    let pids_hit = pids_watch.stop();
    let deadline = Instant::now() + DRAIN_WAIT;
    // Both pumps report on EOF; `recv` fails once both are done (all senders dropped).
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(()) => continue,
            Err(_) => break,
        }
    }
    let report = ExitReport {
        code: status.code(),
        signal: status.signal(),
        oom: oom_kills() > oom_before,
        cpu_ms: children_cpu_ms(),
        peak_rss: children_peak_rss(),
        pids_hit,
    };
    send(port, TAG_EXIT, &report.encode());
    Ok(())
}

/// If the host's end of the channel goes away (the host process died), nobody will read this
/// job's output or destroy the VM: power it off rather than let the job run on unattended.
fn watch_host(port: &Port) {
    let fd = {
        let port = port
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        port.try_clone()
    };
    let Ok(fd) = fd else { return };
    thread::spawn(move || loop {
        use rustix::event::{poll, PollFd, PollFlags};
        // No events asked for: poll still reports a hang-up, which the port signals once the
        // host side disconnects.
        let mut fds = [PollFd::new(&fd, PollFlags::empty())];
        match poll(&mut fds, None) {
            Ok(_) if fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR) => power_off(),
            _ => thread::sleep(Duration::from_millis(50)),
        }
    });
}

/// Copies one of the job's pipes to the port in frames until EOF.
fn pump(mut from: impl Read + Send + 'static, tag: u8, port: Port, done: mpsc::Sender<()>) {
    thread::spawn(move || {
        let mut buf = vec![0u8; MAX_FRAME];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => send(&port, tag, &buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
}

fn send(port: &Port, tag: u8, payload: &[u8]) {
    let mut port = port
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A failed write means the host is gone; the host's wall clock kills the VM regardless.
    let _ = write_frame(&mut *port, tag, payload);
}

fn receive_go(port: &Port) -> Result<Go, InitError> {
    let mut port = port
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Until the host's end of the channel is connected, reads return end-of-file: retry.
    let (tag, payload) = loop {
        match read_frame(&mut *port) {
            Ok(frame) => break frame,
            Err(ProtoError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if tag != TAG_GO {
        return Err(InitError::UnexpectedFrame(tag));
    }
    Ok(Go::decode(&payload)?)
}

/// Every node in `/dev` is root-only except the few a program legitimately opens: the job
/// cannot reach the channel port, the serial console, the RTC or memory devices.
fn lock_down_devices() -> Result<(), InitError> {
    for entry in sys("list /dev", std::fs::read_dir("/dev"))? {
        let entry = sys("list /dev", entry)?;
        let name = entry.file_name();
        let open = OPEN_DEVICES
            .iter()
            .any(|d| name.as_encoded_bytes() == d.as_bytes());
        let mode = if open { 0o666 } else { 0o600 };
        sys(
            "restrict /dev",
            rustix::fs::chmod(entry.path(), Mode::from_raw_mode(mode)),
        )?;
    }
    Ok(())
}

/// Mixes the host's seed into the input pool and forces the ChaCha20 CRNG to rekey from it, so
/// a guest restored from a snapshot does not repeat the random numbers of its siblings.
fn reseed(seed: &[u8]) -> Result<(), InitError> {
    let mut urandom = sys(
        "open /dev/urandom",
        OpenOptions::new().write(true).open("/dev/urandom"),
    )?;
    sys("seed /dev/urandom", urandom.write_all(seed))?;
    sys("reseed the CRNG", force_crng_reseed(&urandom))
}

/// `ioctl(fd, RNDRESEEDCRNG)`: the kernel's own "rekey now" (root only). No safe wrapper exists.
#[allow(unsafe_code)]
fn force_crng_reseed(urandom: &File) -> io::Result<()> {
    /// `_IO('R', 0x07)` from `<linux/random.h>`.
    const RNDRESEEDCRNG: rustix::ioctl::Opcode = 0x5207;
    // SAFETY: RNDRESEEDCRNG takes no argument and only reads the fd; the opcode is the
    // kernel's, and NoArg passes nothing the kernel could write through.
    let ioctl = unsafe { rustix::ioctl::NoArg::<RNDRESEEDCRNG>::new() };
    // SAFETY: as above; `urandom` is an open file descriptor for the call's duration.
    unsafe { rustix::ioctl::ioctl(urandom, ioctl) }.map_err(io::Error::from)
}

/// The kernel's count of OOM kills so far (`/proc/vmstat`).
fn oom_kills() -> u64 {
    std::fs::read_to_string("/proc/vmstat")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .map(str::trim)
                    .map(str::to_owned)
            })
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The largest resident set any of init's waited-for descendants reached, in bytes: the job's
/// process (init reaped it) and whatever it waited for itself. The kernel keeps the maximum of
/// the processes' own peaks, not the peak of their sum.
fn children_peak_rss() -> u64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| u64::try_from(u.max_rss()).unwrap_or(0).saturating_mul(1024))
        .unwrap_or(0)
}

/// How often [`PidsWatch`] counts the job's tasks: rare enough to cost the job (which shares
/// the one vCPU) about nothing, often enough to catch a fork loop held at the limit.
const PIDS_SAMPLE: Duration = Duration::from_millis(100);

/// Samples the number of tasks (processes plus threads) of the job's uid while the job runs:
/// RLIMIT_NPROC makes fork and thread creation fail with `EAGAIN` once that number reaches the
/// limit, and the kernel keeps no count of such failures to read afterwards. A burst at the
/// limit shorter than one sample can go unseen.
struct PidsWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<thread::JoinHandle<bool>>,
}

impl PidsWatch {
    fn start(limit: u32) -> PidsWatch {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if job_tasks() >= u64::from(limit) {
                        return true;
                    }
                    thread::sleep(PIDS_SAMPLE);
                }
                false
            })
            .ok();
        PidsWatch { stop, thread }
    }

    /// Whether the job was seen at its limit.
    fn stop(self) -> bool {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.and_then(|t| t.join().ok()).unwrap_or(false)
    }
}

/// The tasks whose real uid is the job's (what RLIMIT_NPROC counts), from `/proc/*/status`.
fn job_tasks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut tasks = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if field("Uid:") == Some(u64::from(JOB_UID)) {
            tasks += field("Threads:").unwrap_or(1);
        }
    }
    tasks
}

/// CPU time of init's waited-for children (`cutime` + `cstime` of `/proc/self/stat`).
fn children_cpu_ms() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `rest` starts at field 3 (state), so field N is index N - 3; USER_HZ is 100.
    (ticks(13) + ticks(14)) * 10
}

/// Ends the VM. Without ACPI the guest cannot power off (the kernel would only halt), so it
/// reboots: `reboot=t` makes that a triple fault, and QEMU's `-no-reboot` turns it into exit.
fn power_off() -> ! {
    rustix::fs::sync();
    loop {
        let _ = rustix::system::reboot(rustix::system::RebootCommand::Restart);
        thread::sleep(Duration::from_secs(1));
    }
}
