//! The container tier's network grant: a job granted network gets an outbound network of its
//! own (slirp4netns outside the sandbox), never the host's loopback; a job without the grant
//! gets none; the host-side stack dies with the job on every path; and a machine without
//! slirp4netns refuses granted jobs, naming it. Every test runs real sandboxes.

#[cfg(test)]
mod common;

use bridle_host::container::{net, Container};
use bridle_host::job::{
    Cancel, JobOutcome, JobSpec, LimitHit, OutputSink, Sandbox, SandboxError, Stream,
};
use common::*;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The helpers, under `cfg(test)` like `common` (clippy's test allowances cover them).
#[cfg(test)]
mod support {
    use super::*;

    /// One network test at a time: the cleanup tests count this process's slirp4netns children.
    pub fn serial() -> MutexGuard<'static, ()> {
        static LOCK: Mutex<()> = Mutex::new(());
        LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The container tier, failing with the fix when slirp4netns is missing (never a silent skip).
    pub fn networked() -> Container {
        assert!(
            net::find().is_some(),
            "slirp4netns is missing: run `bash .ci/setup` (it installs the `slirp4netns` package) or `apt-get install slirp4netns`"
        );
        container()
    }

    pub fn granted(code: &str) -> JobSpec {
        let mut s = spec("python3", code);
        s.network = true;
        s
    }

    /// An IPv4 address of this machine that is not loopback: from its interfaces (`ip`), else the
    /// source address of its default route. `None` (the test then says why it skips) on a machine
    /// with only loopback.
    pub fn host_address() -> Option<Ipv4Addr> {
        let from_ip = std::process::Command::new("ip")
            .args(["-4", "-o", "addr", "show", "scope", "global"])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout).lines().find_map(|line| {
                    let mut words = line.split_whitespace();
                    words.find(|w| *w == "inet")?;
                    words.next()?.split('/').next()?.parse::<Ipv4Addr>().ok()
                })
            });
        from_ip
            .or_else(|| {
                // Connecting a UDP socket sends nothing; it only asks the routing table.
                let s = UdpSocket::bind("0.0.0.0:0").ok()?;
                s.connect("198.51.100.1:9").ok()?;
                match s.local_addr().ok()?.ip() {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                }
            })
            .filter(|a| !a.is_loopback() && !a.is_unspecified())
    }

    /// slirp4netns processes whose parent is this test process.
    pub fn our_slirps() -> Vec<u32> {
        children_named("slirp4netns")
    }

    /// Live processes whose parent is this test process and whose name starts with `name`
    /// (Debian's passt re-executes itself as `passt.avx2`).
    pub fn children_named(name: &str) -> Vec<u32> {
        let me = std::process::id();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces, so split after the last ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            let ppid = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok());
            if comm.starts_with(name) && ppid == Some(me) && alive(pid) {
                found.push(pid);
            }
        }
        found
    }

    /// Whether `pid` is a live process (a zombie counts as gone).
    pub fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rfind(')')
                    .and_then(|i| s[i + 1..].split_whitespace().next())
                    .is_some_and(|state| state != "Z" && state != "X")
            })
            .unwrap_or(false)
    }

    /// A listener on `ip`, with a thread that records what each connection sends.
    pub struct Server {
        pub port: u16,
        got: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Server {
        pub fn on(ip: Ipv4Addr) -> Server {
            let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), 0)).unwrap();
            let port = listener.local_addr().unwrap().port();
            let got = Arc::new(Mutex::new(Vec::new()));
            let record = Arc::clone(&got);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { break };
                    let _ = conn.write_all(b"host\n");
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = Vec::new();
                    let _ = conn.read_to_end(&mut buf);
                    record.lock().unwrap().push(buf);
                }
            });
            Server { port, got }
        }

        pub fn connections(&self) -> Vec<Vec<u8>> {
            self.got.lock().unwrap().clone()
        }
    }

    /// Python that connects to each `(host, port)`, sends a line, and prints what it got back or
    /// `blocked` with the error.
    pub fn connect_each(targets: &[(String, u16)]) -> String {
        let list = targets
            .iter()
            .map(|(h, p)| format!("({h:?}, {p})"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            r#"
import socket
for host, port in [{list}]:
    try:
        s = socket.create_connection((host, port), timeout=3)
        s.sendall(b"job\n")
        print("reached", host, s.recv(16).decode().strip())
        s.close()
    except OSError as e:
        print("blocked", host, type(e).__name__)
"#
        )
    }

    /// Records this process's slirp4netns children when the job first speaks.
    pub struct SlirpWatch {
        seen: Arc<Mutex<Vec<u32>>>,
    }

    impl OutputSink for SlirpWatch {
        fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {
            let mut seen = self.seen.lock().unwrap();
            if seen.is_empty() {
                *seen = our_slirps();
            }
        }
    }

    /// Runs a granted job that prints, then does `then`; returns the outcome and the slirp4netns
    /// pids seen while it ran.
    pub fn watch(
        c: &Container,
        then: &str,
        wall: Duration,
        cancel: &Cancel,
    ) -> (JobOutcome, Vec<u32>) {
        let mut s = granted(&format!(
            "import sys, time\nprint('up', flush=True)\n{then}\n"
        ));
        s.limits.wall = wall;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut sink = SlirpWatch {
            seen: Arc::clone(&seen),
        };
        let o = c
            .run(&s, &mut sink, cancel)
            .unwrap_or_else(|e| panic!("the job did not run: {e}"));
        let seen = seen.lock().unwrap().clone();
        (o, seen)
    }

    pub fn assert_gone(seen: &[u32], o: &JobOutcome) {
        assert_eq!(
            seen.len(),
            1,
            "expected one slirp4netns while the job ran: {o:?}"
        );
        for pid in seen {
            assert!(!alive(*pid), "slirp4netns {pid} outlived its job: {o:?}");
        }
        assert!(our_slirps().is_empty(), "{:?}", our_slirps());
    }
}

use support::*;

macro_rules! host_address_or_skip {
    () => {
        match host_address() {
            Some(a) => a,
            None => {
                println!(
                    "SKIPPED: this machine has no non-loopback IPv4 address for the job to reach"
                );
                return;
            }
        }
    };
}

#[test]
fn a_granted_job_reaches_a_server_on_the_hosts_own_address() {
    let _serial = serial();
    let addr = host_address_or_skip!();
    let c = networked();
    let server = Server::on(addr);
    let o = run_on(
        &c,
        &granted(&connect_each(&[(addr.to_string(), server.port)])),
    );
    assert_eq!(stdout(&o), format!("reached {addr} host\n"), "{o:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.connections(), vec![b"job\n".to_vec()]);
}

#[test]
fn a_granted_job_cannot_reach_host_loopback() {
    let _serial = serial();
    let c = networked();
    let on_loopback = Server::on(Ipv4Addr::LOCALHOST);
    let port = on_loopback.port;
    // The job listens on the same port of its own loopback: 127.0.0.1 inside is the job's,
    // so that is what answers. Through slirp's gateway, 10.0.2.2 (which slirp4netns would
    // map to the host's 127.0.0.1 without `--disable-host-loopback`), nothing does.
    let code = format!(
        r#"
import socket, threading
own = socket.create_server(("127.0.0.1", {port}))
def answer():
    while True:
        c, _ = own.accept()
        c.sendall(b"own\n")
        c.close()
threading.Thread(target=answer, daemon=True).start()
{probe}
"#,
        probe = connect_each(&[
            ("127.0.0.1".into(), port),
            ("10.0.2.2".into(), port),
            ("10.0.2.3".into(), port),
        ])
    );
    let o = run_on(&c, &granted(&code));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{o:?}");
    assert_eq!(lines[0], "reached 127.0.0.1 own", "{o:?}");
    assert!(lines[1].starts_with("blocked 10.0.2.2"), "{o:?}");
    assert!(lines[2].starts_with("blocked 10.0.2.3"), "{o:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        on_loopback.connections().is_empty(),
        "a host loopback service saw a connection from the job"
    );
}

#[test]
fn a_granted_job_with_working_network_still_cannot_reach_host_loopback() {
    // The control for the test above: the same job reaches a server on the host's own address
    // (so the network is up) while a server on the host's 127.0.0.1 sees nothing.
    let _serial = serial();
    let addr = host_address_or_skip!();
    let c = networked();
    let reachable = Server::on(addr);
    let on_loopback = Server::on(Ipv4Addr::LOCALHOST);
    let o = run_on(
        &c,
        &granted(&connect_each(&[
            (addr.to_string(), reachable.port),
            ("10.0.2.2".into(), on_loopback.port),
            ("127.0.0.1".into(), on_loopback.port),
        ])),
    );
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{o:?}");
    assert_eq!(lines[0], format!("reached {addr} host"), "{o:?}");
    assert!(lines[1].starts_with("blocked 10.0.2.2"), "{o:?}");
    assert!(lines[2].starts_with("blocked 127.0.0.1"), "{o:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(reachable.connections().len(), 1);
    assert!(on_loopback.connections().is_empty());
}

#[test]
fn a_granted_job_sees_only_its_own_interfaces_and_resolver() {
    let _serial = serial();
    let c = networked();
    let o = run_on(
        &c,
        &granted(
            r#"
names = sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])
print(names)
routes = [l.split()[:3] for l in open("/proc/net/route").readlines()[1:]]
print([r for r in routes if r[1] == "00000000"])
print(open("/etc/resolv.conf").read().strip())
"#,
        ),
    );
    assert_eq!(
        stdout(&o),
        // Default route through 10.0.2.2 (little-endian hex in /proc/net/route).
        "['lo', 'tap0']\n[['tap0', '00000000', '0202000A']]\nnameserver 10.0.2.3\n",
        "{o:?}"
    );
}

#[test]
fn without_the_grant_there_is_no_network() {
    let _serial = serial();
    let c = networked();
    let before = our_slirps();
    let target = host_address().unwrap_or(Ipv4Addr::new(192, 0, 2, 1));
    let server = Server::on(host_address().unwrap_or(Ipv4Addr::LOCALHOST));
    let code = format!(
        "{}\nprint(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n",
        connect_each(&[(target.to_string(), server.port), ("10.0.2.2".into(), server.port)])
    );
    let o = run_on(&c, &spec("python3", &code));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{o:?}");
    // The seccomp filter refuses an inet socket outright: EPERM, PermissionError.
    assert_eq!(
        lines[0],
        format!("blocked {target} PermissionError"),
        "{o:?}"
    );
    assert_eq!(lines[1], "blocked 10.0.2.2 PermissionError", "{o:?}");
    assert_eq!(lines[2], "['lo']", "{o:?}");
    assert!(server.connections().is_empty());
    assert_eq!(
        our_slirps(),
        before,
        "a job without network started slirp4netns"
    );
}

#[test]
fn slirp4netns_is_gone_after_a_job_that_exits() {
    let _serial = serial();
    let c = networked();
    let (o, seen) = watch(&c, "sys.exit(3)", Duration::from_secs(20), &Cancel::new());
    assert_eq!(o.exit, Some(3), "{o:?}");
    assert_gone(&seen, &o);
}

#[test]
fn slirp4netns_is_gone_after_a_job_killed_at_the_wall_clock() {
    let _serial = serial();
    let c = networked();
    let (o, seen) = watch(&c, "time.sleep(60)", Duration::from_secs(2), &Cancel::new());
    assert!(o.limits_hit.contains(&LimitHit::Wall), "{o:?}");
    assert_gone(&seen, &o);
}

#[test]
fn slirp4netns_is_gone_after_a_cancelled_job() {
    let _serial = serial();
    let c = networked();
    let cancel = Cancel::new();
    let later = cancel.clone();
    let started = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        later.cancel();
    });
    let (o, seen) = watch(&c, "time.sleep(60)", Duration::from_secs(30), &cancel);
    assert!(o.limits_hit.contains(&LimitHit::Cancelled), "{o:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_gone(&seen, &o);
}

#[test]
fn a_machine_without_slirp4netns_refuses_granted_jobs_by_name() {
    let _serial = serial();
    let c = container().with_network_tool("/nonexistent/slirp4netns".into());
    let before = our_slirps();
    let err = c
        .run(
            &granted("print('ran')"),
            &mut bridle_host::job::NullSink,
            &Cancel::new(),
        )
        .expect_err("a granted job ran without a network tool");
    match &err {
        SandboxError::Unavailable { reason, fix, .. } => {
            assert!(reason.contains("slirp4netns"), "{err}");
            assert!(fix.contains("apt-get install slirp4netns"), "{err}");
        }
        other => panic!("expected Unavailable naming slirp4netns, got {other:?}"),
    }
    assert_eq!(our_slirps(), before);
    // The same tier still runs jobs that did not ask for network.
    let o = run_on(&c, &spec("python3", "print('ran')"));
    assert_eq!(stdout(&o), "ran\n", "{o:?}");
}

#[test]
fn a_network_tool_that_fails_is_reported_not_ignored() {
    // `false` stands in for a slirp4netns that exits at once (no /dev/net/tun, say): the job
    // must be refused rather than run without the network it was granted.
    let _serial = serial();
    let tool = Path::new("/usr/bin/false");
    assert!(tool.is_file());
    let c = container().with_network_tool(tool.into());
    let err = c
        .run(
            &granted("print('ran')"),
            &mut bridle_host::job::NullSink,
            &Cancel::new(),
        )
        .expect_err("a granted job ran without its network");
    assert!(
        matches!(&err, SandboxError::Unavailable { reason, .. } if reason.contains("slirp4netns")),
        "{err:?}"
    );
}

// ---- The microVM tier: a virtio-net card backed by passt ---------------------------------

/// The microVM tier with the guest `scripts/guest-kernel.sh` built, failing with the fix when
/// the guest or passt is missing (never a silent skip).
#[cfg(test)]
fn microvm(work_root: &Path) -> bridle_host::microvm::Microvm {
    microvm_booting(work_root, bridle_host::microvm::Boot::Snapshot)
}

#[cfg(test)]
fn microvm_booting(
    work_root: &Path,
    boot: bridle_host::microvm::Boot,
) -> bridle_host::microvm::Microvm {
    use bridle_host::microvm::{detected_accel, Artifacts, Microvm};
    assert!(
        bridle_host::microvm::net::find().is_some(),
        "passt is missing: run `bash .ci/setup` (it installs the `passt` package) or `apt-get install passt`"
    );
    let artifacts = Artifacts::locate().unwrap_or_else(|e| {
        panic!("{e}\nThe microVM tests need the guest: run scripts/guest-kernel.sh")
    });
    let accel = detected_accel(&artifacts);
    Microvm::new(artifacts, accel, boot, common::snapshot_dir()).with_work_root(work_root.into())
}

/// passt processes whose parent is this test process.
#[cfg(test)]
fn our_passts() -> Vec<u32> {
    children_named("passt")
}

#[test]
fn a_granted_microvm_job_reaches_out_but_not_host_loopback() {
    use bridle_host::microvm::Boot;
    // Restored with a network card (the default; a `python3` job warm), and booted cold.
    for boot in [Boot::Warm, Boot::Snapshot, Boot::Cold] {
        println!("-- {boot:?}");
        reaches_out_but_not_host_loopback(boot);
    }
}

#[cfg(test)]
fn reaches_out_but_not_host_loopback(boot: bridle_host::microvm::Boot) {
    let _serial = serial();
    let work = tempfile::tempdir().unwrap();
    let vm = microvm_booting(work.path(), boot);
    let addr = host_address();
    let reachable = addr.map(Server::on);
    let on_loopback = Server::on(Ipv4Addr::LOCALHOST);
    let mut targets = vec![
        ("10.0.2.2".to_owned(), on_loopback.port),
        ("127.0.0.1".to_owned(), on_loopback.port),
    ];
    if let (Some(a), Some(s)) = (addr, &reachable) {
        targets.push((a.to_string(), s.port));
    } else {
        println!("(no non-loopback host address: only the loopback half of this test runs)");
    }
    let code = format!(
        "{}\nprint(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\nprint(open('/etc/resolv.conf').read().strip())\n",
        connect_each(&targets)
    );
    let mut s = granted(&code);
    s.tier = bridle_host::job::Tier::Microvm;
    s.limits.wall = Duration::from_secs(60);
    let o = vm
        .run(&s, &mut bridle_host::job::NullSink, &Cancel::new())
        .unwrap_or_else(|e| panic!("the job did not run: {e}"));
    let out = stdout(&o);
    println!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), targets.len() + 2, "{o:?}\n{out}");
    assert!(lines[0].starts_with("blocked 10.0.2.2"), "{out}");
    // Nothing listens on the guest's own loopback at that port.
    assert_eq!(
        lines[1], "blocked 127.0.0.1 ConnectionRefusedError",
        "{out}"
    );
    if let Some(a) = addr {
        assert_eq!(lines[2], format!("reached {a} host"), "{out}");
    }
    assert_eq!(lines[lines.len() - 2], "['eth0', 'lo']", "{out}");
    assert_eq!(lines[lines.len() - 1], "nameserver 10.0.2.3", "{out}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        on_loopback.connections().is_empty(),
        "host loopback reached"
    );
    if let Some(s) = &reachable {
        assert_eq!(s.connections(), vec![b"job\n".to_vec()]);
    }
    assert!(
        our_passts().is_empty(),
        "passt outlived its VM: {:?}",
        our_passts()
    );
}

#[cfg(test)]
fn microvm_job(code: &str, wall: Duration) -> JobSpec {
    let mut s = granted(code);
    s.tier = bridle_host::job::Tier::Microvm;
    s.limits.wall = wall;
    s
}

#[test]
fn passt_is_gone_after_a_microvm_job_killed_at_the_wall_clock() {
    let _serial = serial();
    let work = tempfile::tempdir().unwrap();
    let vm = microvm(work.path());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut sink = PasstWatch {
        seen: Arc::clone(&seen),
    };
    let s = microvm_job(
        "import time\nprint('up', flush=True)\ntime.sleep(600)\n",
        Duration::from_secs(3),
    );
    let o = vm
        .run(&s, &mut sink, &Cancel::new())
        .unwrap_or_else(|e| panic!("the job did not run: {e}"));
    assert!(o.limits_hit.contains(&LimitHit::Wall), "{o:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "expected one passt while the job ran: {o:?}");
    assert!(!alive(seen[0]), "passt {} outlived its VM", seen[0]);
    assert!(our_passts().is_empty(), "{:?}", our_passts());
}

/// Records this process's passt children when the job first speaks.
#[cfg(test)]
struct PasstWatch {
    seen: Arc<Mutex<Vec<u32>>>,
}

#[cfg(test)]
impl OutputSink for PasstWatch {
    fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {
        let mut seen = self.seen.lock().unwrap();
        if seen.is_empty() {
            *seen = our_passts();
        }
    }
}

#[test]
fn a_microvm_without_passt_refuses_granted_jobs_by_name() {
    let _serial = serial();
    let work = tempfile::tempdir().unwrap();
    let vm = microvm(work.path()).with_network_tool("/nonexistent/passt".into());
    let err = vm
        .run(
            &microvm_job("print('ran')", Duration::from_secs(30)),
            &mut bridle_host::job::NullSink,
            &Cancel::new(),
        )
        .expect_err("a granted job ran without passt");
    match &err {
        SandboxError::Unavailable { reason, fix, .. } => {
            assert!(reason.contains("passt"), "{err}");
            assert!(fix.contains("apt-get install passt"), "{err}");
        }
        other => panic!("expected Unavailable naming passt, got {other:?}"),
    }
}

#[test]
fn a_passt_that_fails_is_reported_not_ignored() {
    // `false` stands in for a passt that exits at once: the guest boots, but the job must not
    // start without the network it was granted.
    let _serial = serial();
    let work = tempfile::tempdir().unwrap();
    let vm = microvm(work.path()).with_network_tool("/usr/bin/false".into());
    let err = vm
        .run(
            &microvm_job("print('ran')", Duration::from_secs(30)),
            &mut bridle_host::job::NullSink,
            &Cancel::new(),
        )
        .expect_err("a granted job ran without its network");
    assert!(
        matches!(&err, SandboxError::Unavailable { reason, .. } if reason.contains("passt")),
        "{err:?}"
    );
    assert!(our_passts().is_empty());
}
