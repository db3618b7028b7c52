//! The network of a container job granted one: the sandbox keeps its own empty network
//! namespace (`--unshare-net` always), and the host connects it to a user-mode TCP/IP stack,
//! `slirp4netns`, run outside the sandbox with `--disable-host-loopback`.
//!
//! What the job then has: its own loopback; a `tap0` at 10.0.2.100/24 with a default route
//! through slirp's 10.0.2.2 and slirp's DNS forwarder at 10.0.2.3 (its `/etc/resolv.conf`);
//! outbound TCP and UDP, made by slirp4netns as ordinary host sockets. What it does not have:
//! the host's loopback (slirp refuses 127.0.0.0/8, so 10.0.2.2 leads nowhere), IPv6, inbound
//! connections (nothing is forwarded in), or any view of the host's interfaces.
//!
//! Attaching ([`JobNetwork::attach`]) happens while bubblewrap holds the sandbox on its block
//! descriptor, so the job's first instruction already sees the network. slirp4netns must join
//! the user namespace that owns the job's network namespace to configure it; bubblewrap nests
//! a second user namespace under it (`--disable-userns`), so the process's own
//! `/proc/PID/ns/user` is the wrong one, and the owner is asked of the network namespace
//! itself (`NS_GET_USERNS`). The [`JobNetwork`] guard kills slirp4netns when dropped, and its
//! exit pipe ends it if the host itself dies first.

use crate::job::{SandboxError, Tier};
use command_fds::{CommandFdExt, FdMapping};
use rustix::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The user-mode network stack the tier uses, by name (what an error tells the user to install).
pub const TOOL: &str = "slirp4netns";
/// Where [`TOOL`] is looked for.
const TOOL_PATHS: &[&str] = &[
    "/usr/bin/slirp4netns",
    "/bin/slirp4netns",
    "/usr/local/bin/slirp4netns",
];
/// The job's `/etc/resolv.conf`: slirp's DNS forwarder, which relays to the host's resolver.
/// The host's own file would name resolvers the job cannot reach (a 127.0.0.53 is its own
/// loopback inside).
pub const RESOLV_CONF: &[u8] = b"nameserver 10.0.2.3\n";
/// slirp4netns's documented maximum short of 65521; a large MTU is what makes it fast.
const MTU: u32 = 65520;
/// The interface name inside the sandbox.
const TAP: &str = "tap0";
/// How long slirp4netns may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of slirp4netns's own words an error carries.
const MAX_SAID: usize = 2000;
/// `NS_GET_USERNS` (`_IO(0xb7, 0x1)`, linux/nsfs.h): a descriptor for the user namespace that
/// owns a namespace.
const NS_GET_USERNS: libc::Ioctl = 0xb701;

// Child-side descriptor numbers for what slirp4netns reads.
const FD_EXIT: i32 = 3;
const FD_READY: i32 = 4;
const FD_USERNS: i32 = 5;
const FD_NETNS: i32 = 6;

/// Why a job's network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The user-mode network stack is not installed (or not where it was said to be).
    #[error("network access needs `{tool}`, which is not installed (looked at {looked})")]
    Missing { tool: &'static str, looked: String },
    /// slirp4netns ran and gave up; `said` is its own explanation.
    #[error("`{TOOL}` could not connect the job's network namespace: {said}")]
    Failed { said: String },
    /// slirp4netns neither finished nor failed in time.
    #[error("`{TOOL}` did not configure the job's network within {READY_TIMEOUT:?}")]
    Timeout,
    /// A host-side step failed; `op` names it.
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<NetError> for SandboxError {
    fn from(e: NetError) -> Self {
        match e {
            NetError::Missing { .. } => SandboxError::Unavailable {
                tier: Tier::Container,
                reason: e.to_string(),
                fix: format!("`apt-get install {TOOL}`, or run the job without network"),
            },
            NetError::Failed { .. } | NetError::Timeout => SandboxError::Unavailable {
                tier: Tier::Container,
                reason: e.to_string(),
                fix: "slirp4netns needs /dev/net/tun readable and writable by the host's user; \
                      run `bridle doctor`"
                    .into(),
            },
            NetError::Io { op, source } => SandboxError::Io { op, source },
        }
    }
}

fn io(op: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetError {
    let op = op.into();
    move |source| NetError::Io { op, source }
}

/// The installed slirp4netns, if any.
pub fn find() -> Option<PathBuf> {
    TOOL_PATHS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Checks that `tool` (what [`find`] returned, or what the caller configured) is there.
pub fn require(tool: Option<&Path>) -> Result<&Path, NetError> {
    match tool {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(NetError::Missing {
            tool: TOOL,
            looked: path.display().to_string(),
        }),
        None => Err(NetError::Missing {
            tool: TOOL,
            looked: TOOL_PATHS.join(", "),
        }),
    }
}

/// A running slirp4netns serving one job. Dropping it kills and reaps the process.
#[derive(Debug)]
pub struct JobNetwork {
    child: Child,
    /// The write end of slirp4netns's exit pipe: closing it (here, or by the host dying) tells
    /// slirp4netns to stop.
    exit: Option<OwnedFd>,
}

impl JobNetwork {
    /// Connects the network namespace of the sandbox whose init is `init_pid` (held on
    /// bubblewrap's block descriptor, so it cannot have exited; `init` is its pidfd) to a new
    /// slirp4netns, and returns once the namespace is configured.
    pub fn attach(tool: &Path, init_pid: i32, init: &OwnedFd) -> Result<JobNetwork, NetError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        // Joining the user namespace before bubblewrap has written its uid map would leave
        // slirp4netns unmapped in it; the map comes within microseconds of the info pipe.
        let uid_map = format!("/proc/{init_pid}/uid_map");
        loop {
            let map = std::fs::read_to_string(&uid_map).map_err(io(format!("read {uid_map}")))?;
            if !map.trim().is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(NetError::Timeout);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let netns_path = format!("/proc/{init_pid}/ns/net");
        let netns = rustix::fs::open(
            netns_path.as_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| NetError::Io {
            op: format!("open {netns_path}"),
            source: e.into(),
        })?;
        // The pid could only have been reused if the init died; the pidfd says whether it did,
        // so the namespace just opened is the sandbox's.
        if exited(init)? {
            return Err(NetError::Failed {
                said: "the sandbox ended before its network was attached".into(),
            });
        }
        let userns = owning_userns(&netns)?;

        let (exit_read, exit_write) = rustix::pipe::pipe().map_err(|e| io("pipe")(e.into()))?;
        let (ready_read, ready_write) = rustix::pipe::pipe().map_err(|e| io("pipe")(e.into()))?;
        // Its stderr goes to memory, never a pipe nobody drains: read only when it fails.
        let log = std::fs::File::from(
            rustix::fs::memfd_create("bridle-slirp4netns", rustix::fs::MemfdFlags::CLOEXEC)
                .map_err(|e| io("memfd_create")(e.into()))?,
        );
        let log_for_child = log.try_clone().map_err(io("dup the slirp4netns log"))?;

        // It parses the job's packets, so it is confined either way: a seccomp filter, and its
        // own mount namespace with an empty root and no capabilities when the host is root.
        // slirp4netns can make that namespace only as root: as any other user it first becomes
        // root in the job's user namespace, where bubblewrap maps only the job's uid. A host
        // that is not root (the browser starts it as the user) confines it with Landlock
        // instead (`Confinement`).
        let confinement = Confinement::for_this_host()?;
        let mut cmd = Command::new(tool);
        if confinement.is_none() {
            cmd.arg("--enable-sandbox");
        }
        cmd.args([
            "--configure".to_owned(),
            format!("--mtu={MTU}"),
            "--disable-host-loopback".to_owned(),
            "--enable-seccomp".to_owned(),
            format!("--exit-fd={FD_EXIT}"),
            format!("--ready-fd={FD_READY}"),
            format!("--userns-path=/proc/self/fd/{FD_USERNS}"),
            "--netns-type=path".to_owned(),
            format!("/proc/self/fd/{FD_NETNS}"),
            TAP.to_owned(),
        ])
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_for_child))
        .fd_mappings(vec![
            FdMapping {
                parent_fd: exit_read,
                child_fd: FD_EXIT,
            },
            FdMapping {
                parent_fd: ready_write,
                child_fd: FD_READY,
            },
            FdMapping {
                parent_fd: userns,
                child_fd: FD_USERNS,
            },
            FdMapping {
                parent_fd: netns,
                child_fd: FD_NETNS,
            },
        ])
        .map_err(|e| NetError::Failed {
            said: e.to_string(),
        })?;
        if let Some(confinement) = confinement {
            confinement.apply_at_exec(&mut cmd);
        }
        let child = cmd
            .spawn()
            .map_err(io(format!("spawn {}", tool.display())))?;
        // The command holds the parent's copies of the mapped descriptors: close them, so the
        // ready pipe reaches EOF if slirp4netns dies.
        drop(cmd);
        let mut guard = JobNetwork {
            child,
            exit: Some(exit_write),
        };
        match wait_ready(ready_read, deadline) {
            Ok(()) => Ok(guard),
            Err(e) => {
                guard.stop();
                Err(match e {
                    NetError::Failed { .. } => NetError::Failed {
                        said: said(log).unwrap_or_else(|| "it exited without a word".into()),
                    },
                    other => other,
                })
            }
        }
    }

    /// slirp4netns's pid on the host.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        self.exit.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for JobNetwork {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a slirp4netns started by a host that is not root may touch: its own program and
/// libraries, the host's `/etc` (its resolver configuration) and `/run` (where that may link
/// to), `/proc` (the namespace descriptors it is handed), and `/dev/net/tun`. Nothing else of
/// the file system, not even to read: the user's files stay out of reach of a slirp4netns
/// the job's packets took over. Nor abstract unix sockets, nor signals to other processes,
/// where the kernel's Landlock can say so (ABI 6). Its network is not limited (it makes the
/// job's connections).
#[derive(Debug)]
struct Confinement {
    /// A Landlock ruleset, applied between fork and exec.
    ruleset: OwnedFd,
}

/// Read (and execute) beneath these; see [`Confinement`].
const CONFINED_READ: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/etc", "/run", "/proc"];
/// Read and write, the one device slirp4netns opens.
const CONFINED_TUN: &str = "/dev/net/tun";

impl Confinement {
    /// `None` for a root host (slirp4netns's own sandbox applies); the Landlock ruleset
    /// otherwise, or an error when this kernel has no Landlock: a slirp4netns with nothing
    /// but its seccomp filter between the job's packets and the user's files is refused,
    /// never run silently.
    fn for_this_host() -> Result<Option<Confinement>, NetError> {
        if rustix::process::geteuid().is_root() {
            return Ok(None);
        }
        Confinement::landlock().map(Some)
    }

    /// The Landlock ruleset of [`Confinement`], whoever the host runs as.
    fn landlock() -> Result<Confinement, NetError> {
        use landlock::{
            path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr,
            RulesetCreatedAttr, Scope, ABI,
        };
        // Filesystem rules (ABI 1) are required; what later ABIs add (truncation, device
        // ioctls) is used where the kernel has it.
        let (required, wanted) = (ABI::V1, ABI::V6);
        let fail = |e: landlock::RulesetError| NetError::Failed {
            said: format!(
                "a host that is not root confines slirp4netns with Landlock, and that failed \
                 ({e}); run `bridle doctor`"
            ),
        };
        let created = Ruleset::default()
            // Landlock or nothing: a kernel without it must not leave slirp4netns unconfined.
            .set_compatibility(CompatLevel::HardRequirement)
            .handle_access(AccessFs::from_all(required))
            .map_err(fail)?
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(wanted))
            .map_err(fail)?
            // No abstract unix sockets and no signals beyond itself (a desktop's X11 and D-Bus
            // listen on abstract sockets).
            .scope(Scope::from_all(wanted))
            .map_err(fail)?
            .create()
            .map_err(fail)?
            .add_rules(path_beneath_rules(
                super::shim::existing_paths(CONFINED_READ),
                AccessFs::from_read(wanted),
            ))
            .map_err(fail)?
            .add_rules(path_beneath_rules(
                [CONFINED_TUN],
                AccessFs::from_all(wanted),
            ))
            .map_err(fail)?;
        let ruleset: Option<OwnedFd> = created.into();
        let ruleset = ruleset.ok_or_else(|| NetError::Failed {
            said: "this kernel has no Landlock to confine slirp4netns in a host that is not root"
                .into(),
        })?;
        Ok(Confinement { ruleset })
    }

    /// Makes `cmd`'s process restrict itself to the ruleset just before it executes
    /// slirp4netns (so the rules cover the program's own start too).
    fn apply_at_exec(self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        let ruleset = self.ruleset;
        #[expect(
            unsafe_code,
            reason = "pre_exec is unsafe; Landlock has no other way to confine a child"
        )]
        // SAFETY: the closure runs in the forked child before exec and makes only two
        // async-signal-safe system calls (prctl and landlock_restrict_self) on a descriptor the
        // parent keeps open until the spawn returns; it allocates nothing and takes no lock.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// The user namespace owning the network namespace `netns`.
fn owning_userns(netns: &OwnedFd) -> Result<OwnedFd, NetError> {
    #[expect(
        unsafe_code,
        reason = "NS_GET_USERNS has no safe wrapper in rustix or libc"
    )]
    // SAFETY: `netns` is an open namespace descriptor borrowed for the call; NS_GET_USERNS takes
    // no argument and returns a new descriptor (close-on-exec) or -1, so the only memory
    // involved is the kernel's. A non-negative result is a descriptor nothing else owns, so
    // `OwnedFd` may take it.
    let fd = unsafe {
        let raw = libc::ioctl(netns.as_raw_fd(), NS_GET_USERNS);
        (raw >= 0).then(|| OwnedFd::from_raw_fd(raw))
    };
    fd.ok_or_else(|| NetError::Io {
        op: "find the user namespace owning the job's network namespace (NS_GET_USERNS)".into(),
        source: std::io::Error::last_os_error(),
    })
}

/// Whether the process behind `pidfd` has exited (a pidfd polls readable once it has).
fn exited(pidfd: &OwnedFd) -> Result<bool, NetError> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).map_err(|e| NetError::Io {
        op: "poll the sandbox init's pidfd".into(),
        source: e.into(),
    })?;
    Ok(!fds[0].revents().is_empty())
}

/// Waits for slirp4netns's `1` on the ready pipe.
fn wait_ready(ready: OwnedFd, deadline: Instant) -> Result<(), NetError> {
    let (tx, rx) = mpsc::channel();
    // A thread, so a hung slirp4netns cannot hang the host; killing it closes the pipe and
    // ends the thread.
    std::thread::spawn(move || {
        let mut file = std::fs::File::from(ready);
        let mut byte = [0u8; 1];
        let got = matches!(file.read(&mut byte), Ok(1) if byte[0] == b'1');
        let _ = tx.send(got);
    });
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(true) => Ok(()),
        Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => Err(NetError::Failed {
            said: String::new(),
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(NetError::Timeout),
    }
}

/// The end of what slirp4netns wrote to its log, trimmed.
fn said(mut log: std::fs::File) -> Option<String> {
    log.rewind().ok()?;
    let mut text = String::new();
    log.take(1 << 20).read_to_string(&mut text).ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let start = text
        .char_indices()
        .map(|(i, _)| i)
        .find(|i| text.len() - i <= MAX_SAID)
        .unwrap_or(0);
    Some(text[start..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_is_named() {
        let e = require(Some(Path::new("/nonexistent/slirp4netns"))).unwrap_err();
        assert!(matches!(e, NetError::Missing { tool: TOOL, .. }));
        let e = SandboxError::from(e);
        assert!(e.to_string().contains("slirp4netns"), "{e}");
        assert!(e.to_string().contains("apt-get install slirp4netns"), "{e}");
        assert!(matches!(require(None), Err(NetError::Missing { .. })));
    }

    #[test]
    fn resolv_conf_names_only_the_forwarder() {
        assert_eq!(RESOLV_CONF, b"nameserver 10.0.2.3\n");
    }

    /// What slirp4netns may touch in a host that is not root, tried by a shell under the same
    /// confinement (as root too: Landlock binds root like anyone).
    #[test]
    fn a_confined_slirp4netns_reads_only_what_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "the user's file").unwrap();
        let attempt = |script: &str| {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(script).arg("sh").arg(&secret);
            Confinement::landlock().unwrap().apply_at_exec(&mut cmd);
            cmd.output().unwrap()
        };
        // No redirections: not even /dev/null is within the rules.
        let ok = attempt("cat /etc/hostname /proc/self/status && ls /usr/lib");
        assert!(ok.status.success(), "{ok:?}");
        let read = attempt("cat \"$1\"");
        assert!(!read.status.success(), "read the user's file: {read:?}");
        assert!(!String::from_utf8_lossy(&read.stdout).contains("the user's file"));
        let write = attempt("echo x > \"$1.new\"");
        assert!(
            !write.status.success(),
            "wrote beside the user's file: {write:?}"
        );
        assert!(!dir.path().join("secret.new").exists());
        let home = attempt("ls /root /home");
        assert!(!home.status.success(), "listed home folders: {home:?}");
        // Abstract unix sockets (X11's, D-Bus's) are out of reach where Landlock scopes them.
        if crate::container::shim::landlock_abi().is_some_and(|abi| abi >= 6) {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("bridle-confined-{}", std::process::id());
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
            let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
            let connect =
                format!("import socket; socket.socket(socket.AF_UNIX).connect('\\0{name}')");
            let mut cmd = Command::new("/usr/bin/python3");
            cmd.args(["-c", &connect]);
            let open = cmd.output().unwrap();
            assert!(
                open.status.success(),
                "the listener is reachable unconfined: {open:?}"
            );
            let mut cmd = Command::new("/usr/bin/python3");
            cmd.args(["-c", &connect]);
            Confinement::landlock().unwrap().apply_at_exec(&mut cmd);
            let scoped = cmd.output().unwrap();
            assert!(
                !scoped.status.success(),
                "reached an abstract socket: {scoped:?}"
            );
        }
    }
}
