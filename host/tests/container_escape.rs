//! The container tier's escape suite: each test is an attempt a hostile job makes, and each
//! must fail — the job runs, tries, and reports that it could not (or is stopped by a limit).
//! Every test runs a real bubblewrap sandbox; a machine without it fails with the fix named.

#[cfg(test)]
mod common;

use bridle_host::job::{Cancel, JobSpec, LimitHit, OutputSink, Sandbox, Stream};
use common::*;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

#[test]
fn tcp_to_a_host_listener_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = py(&format!(
        r#"
import socket
try:
    s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError as e:
    print("blocked", e.errno)
"#
    ));
    assert!(stdout(&o).starts_with("blocked"), "{o:?}");
    assert!(
        listener.accept().is_err(),
        "the host listener saw a connection"
    );
}

#[test]
fn udp_to_a_host_socket_is_refused() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_nonblocking(true).unwrap();
    let port = sock.local_addr().unwrap().port();
    let o = py(&format!(
        r#"
import socket
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"escape", ("127.0.0.1", {port}))
    print("sent")
except OSError as e:
    print("blocked", e.errno)
"#
    ));
    assert!(stdout(&o).starts_with("blocked"), "{o:?}");
    let mut buf = [0u8; 16];
    assert!(
        sock.recv_from(&mut buf).is_err(),
        "a datagram reached the host"
    );
}

#[test]
fn dns_resolution_fails() {
    let o = py(r#"
import socket
try:
    print(socket.getaddrinfo("example.com", 443))
except OSError as e:
    print("blocked", type(e).__name__)
"#);
    assert!(stdout(&o).starts_with("blocked"), "{o:?}");
}

#[test]
fn inet6_and_netlink_sockets_are_refused() {
    let o = py(r#"
import socket
for fam, kind in ((socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_NETLINK, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW)):
    try:
        socket.socket(fam, kind)
        print("opened", fam)
    except OSError as e:
        print("refused", e.errno)
"#);
    assert_eq!(stdout(&o), "refused 1\nrefused 1\nrefused 1\n", "{o:?}");
}

#[test]
fn unix_sockets_of_host_services_are_unreachable() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.sock");
    let on_path = UnixListener::bind(&path).unwrap();
    on_path.set_nonblocking(true).unwrap();
    let name = format!("bridle-escape-{}", marker());
    let abstract_addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let abstract_listener = UnixListener::bind_addr(&abstract_addr).unwrap();
    abstract_listener.set_nonblocking(true).unwrap();
    let o = py(&format!(
        r#"
import socket
for addr in ({path:?}, "\0{name}", "/run/dbus/system_bus_socket", "/var/run/docker.sock", "/run/systemd/private"):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(addr)
        print("connected", addr)
    except OSError as e:
        print("blocked")
"#,
        path = path.to_string_lossy()
    ));
    assert_eq!(stdout(&o), "blocked\n".repeat(5), "{o:?}");
    assert!(on_path.accept().is_err());
    assert!(abstract_listener.accept().is_err());
}

#[test]
fn host_home_and_secrets_are_not_readable() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "hunter2").unwrap();
    let o = py(&format!(
        r#"
import os
for p in ({secret:?}, "/etc/shadow", "/etc/passwd", "/root/.ssh/id_ed25519", "/root", "/home", "/etc/ssh", "/var/lib"):
    try:
        if os.path.isdir(p):
            print("listed", p, os.listdir(p))
        else:
            print("read", p, open(p).read()[:20])
    except OSError as e:
        print("denied")
"#,
        secret = secret.to_string_lossy()
    ));
    assert_eq!(stdout(&o), "denied\n".repeat(8), "{o:?}");
}

#[test]
fn writing_outside_the_work_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let o = py(&format!(
        r#"
import os
for p in ("/usr/bin/evil", "/etc/evil", "/evil", "/proc/sys/kernel/hostname", "/sys/evil", {host:?}):
    try:
        with open(p, "w") as f:
            f.write("x")
        print("wrote", p)
    except OSError:
        print("denied")
with open("/work/ok", "w") as f:
    f.write("fine")
with open("/tmp/ok", "w") as f:
    f.write("fine")
print("workdir ok")
"#,
        host = dir.path().join("evil").to_string_lossy()
    ));
    assert_eq!(
        stdout(&o),
        format!("{}workdir ok\n", "denied\n".repeat(6)),
        "{o:?}"
    );
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn host_proc_is_not_visible() {
    let o = py(&format!(
        r#"
import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(len(pids) <= 3, os.path.exists("/proc/{host}"), open("/proc/1/cmdline").read().find("systemd") < 0)
"#,
        host = std::process::id()
    ));
    assert_eq!(stdout(&o), "True False True\n", "{o:?}");
}

#[test]
fn ptrace_is_refused() {
    let o = py(r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_TRACEME, PTRACE_ATTACH = 0, 16
r1 = libc.ptrace(PTRACE_TRACEME, 0, 0, 0); e1 = ctypes.get_errno()
r2 = libc.ptrace(PTRACE_ATTACH, 1, 0, 0); e2 = ctypes.get_errno()
print(r1, e1, r2, e2)
"#);
    assert_eq!(stdout(&o), "-1 1 -1 1\n", "{o:?}");
}

#[test]
fn io_uring_and_bpf_are_refused() {
    let o = py(r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
r = libc.syscall(425, 8, params); e = ctypes.get_errno()   # io_uring_setup
attr = ctypes.create_string_buffer(128)
r2 = libc.syscall(321, 0, attr, 128); e2 = ctypes.get_errno()  # bpf(BPF_MAP_CREATE)
r3 = libc.syscall(250, 0, 0, 0, 0, 0); e3 = ctypes.get_errno()  # keyctl
print(r, e, r2, e2, r3, e3)
"#);
    assert_eq!(stdout(&o), "-1 1 -1 1 -1 1\n", "{o:?}");
}

#[test]
fn mount_unshare_and_setns_are_refused() {
    let o = py(r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
out = []
out.append((libc.mount(b"none", b"/work", b"tmpfs", 0, None), ctypes.get_errno()))
for flag in (0x10000000, 0x00020000, 0x20000000, 0x40000000):  # NEWUSER, NEWNS, NEWPID, NEWNET
    out.append((libc.unshare(flag), ctypes.get_errno()))
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
out.append((libc.setns(fd, 0), ctypes.get_errno()))
out.append((libc.chroot(b"/tmp"), ctypes.get_errno()))
print(all(r == -1 and e == 1 for r, e in out), out)
"#);
    assert!(stdout(&o).starts_with("True"), "{o:?}");
}

#[test]
fn no_privileges_and_no_way_to_gain_them() {
    let o = py(r#"
import os
caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb"))]
nnp = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")]
try:
    os.setuid(0); print("setuid worked")
except OSError:
    # EINVAL: uid 0 does not exist in the job's user namespace; EPERM: no capability.
    print("setuid denied")
print(os.getuid(), os.getgid(), set(caps), nnp)
"#);
    assert_eq!(
        stdout(&o),
        "setuid denied\n65534 65534 {'0000000000000000'} ['1']\n",
        "{o:?}"
    );
}

/// A job forking until refused under a limit of 16 processes; it prints
/// `fork refused ERRNO True` when the refusal came before the 16th child.
fn fork_bomb() -> JobSpec {
    let mut s = spec(
        "python3",
        r#"
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    print("fork refused", e.errno, n < 16)
"#,
    );
    s.limits.pids = 16;
    s
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let o = run_limited(&fork_bomb());
    assert!(stdout(&o).starts_with("fork refused 11 True"), "{o:?}");
    assert!(o.limits_hit.contains(&LimitHit::Pids), "{o:?}");
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    let mut s = spec(
        "python3",
        r#"
blocks = []
while True:
    blocks.append(bytearray(8 * 1024 * 1024))
"#,
    );
    s.limits.memory = 64 * 1024 * 1024;
    let o = run_limited(&s);
    assert_ne!(o.exit, Some(0), "{o:?}");
    assert!(o.limits_hit.contains(&LimitHit::Memory), "{o:?}");
    assert!(o.peak_memory.unwrap_or(0) <= 64 * 1024 * 1024, "{o:?}");
}

/// A host with no usable cgroup (a user session without delegated controllers, as a browser
/// may start it) still stops a memory bomb and a fork bomb: rlimits stand in (RLIMIT_AS and
/// RLIMIT_NPROC, weaker and silent about which limit hit, as `bridle doctor` says).
#[test]
fn without_a_cgroup_rlimits_still_stop_memory_and_fork_bombs() {
    let c = container().without_cgroups();
    let mut memory = spec(
        "python3",
        r#"
blocks = []
try:
    while True:
        blocks.append(bytearray(8 * 1024 * 1024))
except MemoryError:
    n = len(blocks)
    blocks.clear()
    print("memory refused after", n * 8, "MiB")
"#,
    );
    memory.limits.memory = 64 * 1024 * 1024;
    let o = run_on(&c, &memory);
    let said = stdout(&o);
    let mib: u64 = said
        .strip_prefix("memory refused after ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no MemoryError: {o:?}"));
    assert!(mib < 64, "{mib} MiB allocated under a 64 MiB limit: {o:?}");

    let o = run_on(&c, &fork_bomb());
    assert!(stdout(&o).starts_with("fork refused 11 True"), "{o:?}");
}

#[test]
fn filling_the_disk_stops_at_the_memory_limit() {
    // The work directory is a tmpfs: its pages count against the job's memory.
    let mut s = spec(
        "python3",
        r#"
n = 0
try:
    with open("/work/fill", "wb") as f:
        while True:
            f.write(b"x" * (1 << 20))
            f.flush()
            n += 1
except OSError as e:
    print("stopped", n <= 64)
"#,
    );
    s.limits.memory = 64 * 1024 * 1024;
    let o = run(&s);
    let out = stdout(&o);
    assert!(
        out.starts_with("stopped True") || o.limits_hit.contains(&LimitHit::Memory),
        "{o:?}"
    );
}

#[test]
fn an_infinite_loop_is_killed_at_the_wall_clock() {
    let mut s = spec("python3", "while True:\n    pass\n");
    s.limits.wall = Duration::from_millis(700);
    let o = run(&s);
    assert_eq!(o.exit, None, "{o:?}");
    assert_eq!(o.signal.as_deref(), Some("SIGKILL"));
    assert!(o.limits_hit.contains(&LimitHit::Wall), "{o:?}");
}

#[test]
fn sleeping_past_the_wall_clock_is_killed() {
    let m = marker();
    let mut s = spec("sh", &format!("sleep {m}\n"));
    s.limits.wall = Duration::from_millis(500);
    let o = run(&s);
    assert!(o.limits_hit.contains(&LimitHit::Wall), "{o:?}");
    assert!(host_processes_with(&format!("sleep {m}")).is_empty());
}

#[test]
fn a_cpu_spin_is_throttled_to_its_share() {
    let mut s = spec("python3", "while True:\n    pass\n");
    s.limits.cpu = 0.1;
    s.limits.wall = Duration::from_millis(1500);
    let o = run_limited(&s);
    assert!(o.limits_hit.contains(&LimitHit::Cpu), "{o:?}");
    assert!(o.limits_hit.contains(&LimitHit::Wall), "{o:?}");
}

#[test]
fn an_output_flood_is_cut_at_the_budget() {
    let mut s = spec(
        "python3",
        "import sys\nfor _ in range(80):\n    sys.stdout.write('x' * 65536)\nprint('done', file=sys.stderr)\n",
    );
    s.limits.output = 100_000;
    let o = run(&s);
    assert_eq!(o.exit, Some(0), "{o:?}");
    assert_eq!(o.stdout.len() + o.stderr.len(), 100_000);
    assert!(o.stdout_cut, "{o:?}");
    assert!(o.limits_hit.contains(&LimitHit::Output));
}

#[test]
fn orphaned_children_do_not_survive_the_job() {
    let m = marker();
    let o = run(&spec(
        "sh",
        &format!(
            "setsid sleep {m} </dev/null >/dev/null 2>&1 &\nnohup sleep {m} >/dev/null 2>&1 &\n\
             until [ \"$(grep -l {m} /proc/[0-9]*/cmdline 2>/dev/null | wc -l)\" -ge 2 ]; do :; done\n\
             echo started\n"
        ),
    ));
    assert_eq!(stdout(&o), "started\n", "{o:?}");
    assert_eq!(o.exit, Some(0));
    assert!(host_processes_with(&format!("sleep {m}")).is_empty());
}

#[test]
fn the_job_inherits_no_descriptors() {
    let o = py("import os\nprint(sorted(int(f) for f in os.listdir('/proc/self/fd')))\n");
    // 0-2 and the descriptor listdir itself opened.
    assert_eq!(stdout(&o), "[0, 1, 2, 3]\n", "{o:?}");
}

#[test]
fn the_environment_is_cleared() {
    // The test process has CARGO_*, HOME and more; only what the sandbox sets arrives.
    let o = py("import os\nprint(sorted(os.environ))\n");
    assert_eq!(
        stdout(&o),
        "['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']\n",
        "{o:?}"
    );
}

/// Cancels the job as soon as its first output arrives.
struct CancelOnOutput(Cancel);

impl OutputSink for CancelOnOutput {
    fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {
        self.0.cancel();
    }
}

#[test]
fn cancel_kills_the_job_and_its_children() {
    let m = marker();
    let cancel = Cancel::new();
    let s = spec("sh", &format!("sleep {m} &\necho running\nsleep {m}\n"));
    let o = container()
        .run(&s, &mut CancelOnOutput(cancel.clone()), &cancel)
        .unwrap();
    assert!(o.limits_hit.contains(&LimitHit::Cancelled), "{o:?}");
    assert!(host_processes_with(&format!("sleep {m}")).is_empty());
}

#[test]
fn stdin_carries_the_input() {
    let mut s = spec("python3", "import sys\nprint(sys.stdin.read().upper())\n");
    s.input = b"hello".to_vec();
    let o = run(&s);
    assert_eq!(stdout(&o), "HELLO\n");
    let mut r = &o.stderr[..];
    let mut e = String::new();
    r.read_to_string(&mut e).unwrap();
    assert_eq!(e, "");
}

#[test]
fn landlock_confines_the_job_where_the_kernel_has_it() {
    let o = py(r#"
import os
for p in ("/", "/bridle-exec"):
    try:
        os.listdir(p) if p == "/" else open(p, "rb").read(1)
        print("allowed")
    except OSError:
        print("denied")
"#);
    match bridle_host::container::shim::landlock_abi() {
        // Listing the sandbox's root is outside every Landlock rule; the launcher is readable.
        Some(_) => assert_eq!(stdout(&o), "denied\nallowed\n", "{o:?}"),
        // Without Landlock the mount namespace is the only wall, and `/` can be listed.
        None => assert_eq!(stdout(&o), "allowed\nallowed\n", "{o:?}"),
    }
}

#[test]
fn a_network_grant_does_not_reach_host_loopback() {
    // With network the job gets its own namespace behind slirp4netns (host/tests/network.rs
    // has the rest): a listener on the host's 127.0.0.1 stays out of reach.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        r#"
import socket
for host in ("127.0.0.1", "10.0.2.2"):
    try:
        socket.create_connection((host, {port}), timeout=3).sendall(b"hi")
        print("connected")
    except OSError as e:
        print("blocked")
"#
    );
    let mut s = spec("python3", &code);
    s.network = true;
    let o = run(&s);
    assert_eq!(stdout(&o), "blocked\nblocked\n", "{o:?}");
    assert!(
        listener.accept().is_err(),
        "the host's loopback listener saw a connection"
    );
}
