//! The native host from the command line: `bridle job run` (the stable `--json` shape and exit
//! codes, the token checked as the host checks it), `bridle host install|uninstall` (the
//! manifest each browser reads, limited to Bridle), and `bridle host` itself over real pipes,
//! including a browser that disconnects mid-job.

use bridle_tests::bridle_bin;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Setup {
    dir: PathBuf,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bridle-host-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(bridle_bin())
            .args(["keys", "new", "--json", "--out"])
            .arg(dir.join("planner.key"))
            .output()
            .unwrap();
        succeeded(&out);
        let key: Value = serde_json::from_slice(&out.stdout).unwrap();
        std::fs::write(
            dir.join("policy.toml"),
            format!(
                "[[planner]]\nname = \"p\"\nkid = \"{}\"\npublic_key = \"{}\"\nmax_ttl = \"15m\"\n\n[jobs]\nruntimes = [\"python3\", \"sh\"]\nmin_tier = \"container\"\nmax_wall = \"20s\"\n",
                key["kid"].as_str().unwrap(),
                key["public_key"].as_str().unwrap()
            ),
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn token(&self, aud: &str) -> String {
        self.token_with(aud, &[])
    }

    /// A `job` token for `sh` and `python3` in a container, with `extra` mint flags.
    fn token_with(&self, aud: &str, extra: &[&str]) -> String {
        let out = Command::new(bridle_bin())
            .args(["token", "mint", "--iss", "p", "--aud", aud, "--verb", "job"])
            .args([
                "--runtime",
                "sh",
                "--runtime",
                "python3",
                "--sandbox",
                "container",
            ])
            .args(extra)
            .arg("--key")
            .arg(self.path("planner.key"))
            .output()
            .unwrap();
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn cmd(&self) -> Command {
        self.in_setup(Command::new(bridle_bin()))
    }

    /// `cmd` with this setup's state folder and home, and no XDG folders of the caller's.
    fn in_setup(&self, mut cmd: Command) -> Command {
        cmd.env("BRIDLE_STATE_DIR", self.path("state"))
            .env("HOME", self.path("home"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME");
        cmd
    }

    fn job_run(&self, token: &str, code: &str, extra: &[&str]) -> Output {
        std::fs::write(self.path("code.sh"), code).unwrap();
        self.cmd()
            .args(["job", "run", "--policy"])
            .arg(self.path("policy.toml"))
            .args([
                "--token",
                token,
                "--instance",
                "inst",
                "--runtime",
                "sh",
                "--tier",
                "container",
                "--code",
            ])
            .arg(self.path("code.sh"))
            .args(extra)
            .output()
            .unwrap()
    }
}

/// Fails the test, showing the command's stderr, unless it exited 0.
fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn job_run_json_has_the_stable_shape_and_exit_zero_whatever_the_job_did() {
    let s = Setup::new("shape");
    let out = s.job_run(
        &s.token("inst"),
        "echo hi; echo oops >&2; exit 7",
        &["--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "exit",
            "limits_hit",
            "signal",
            "stderr",
            "stdout",
            "wall_ms"
        ]
    );
    assert_eq!(v["exit"], 7);
    assert_eq!(v["signal"], Value::Null);
    assert_eq!(v["stdout"], "hi\n");
    assert_eq!(v["stderr"], "oops\n");
    assert_eq!(v["limits_hit"], serde_json::json!([]));
    assert!(v["wall_ms"].is_u64());
}

#[test]
fn job_run_reports_limits_and_signals() {
    let s = Setup::new("limits");
    let out = s.job_run(
        &s.token("inst"),
        "sleep 30",
        &["--json", "--timeout", "500ms"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["exit"], Value::Null);
    assert_eq!(v["signal"], "SIGKILL");
    assert_eq!(v["limits_hit"], serde_json::json!(["wall"]));
}

/// `--network` and `--cpu` are checked like the extension's job requests: a token without a
/// network grant refuses the network; a CPU above the policy's ceiling is refused.
#[test]
fn job_run_network_and_cpu_are_checked_against_the_token_and_policy() {
    let s = Setup::new("asks");
    for (ask, refused) in [(&["--network"][..], "network"), (&["--cpu", "64"], "cpu")] {
        let out = s.job_run(&s.token("inst"), "true", &[&["--json"], ask].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{ask:?}: {stderr}");
        assert_eq!(json(&out)["refused"], refused, "{ask:?}");
    }
}

#[test]
fn job_run_refusals_exit_one() {
    let s = Setup::new("refusals");
    // Another instance's token.
    let out = s.job_run(&s.token("other-instance"), "true", &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["refused"], "token-bad-signature");
    // A replay: the same token twice, across two processes.
    let token = s.token("inst");
    assert_eq!(s.job_run(&token, "true", &[]).status.code(), Some(0));
    let out = s.job_run(&token, "true", &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["refused"], "token-replayed");
    // Over the policy's memory ceiling (256MB by default).
    let out = s.job_run(&s.token("inst"), "true", &["--memory", "1GB"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused (memory)"));
}

#[test]
fn job_run_usage_errors_exit_two() {
    let s = Setup::new("usage");
    let token = s.token("inst");
    assert_eq!(
        s.job_run(&token, "true", &["--timeout", "soon"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        s.job_run(&token, "true", &["--memory", "lots"])
            .status
            .code(),
        Some(2)
    );
    for cpu in ["0", "-1", "NaN", "inf", "half"] {
        let out = s.job_run(&token, "true", &["--cpu", cpu]);
        assert_eq!(out.status.code(), Some(2), "--cpu {cpu}");
    }
    assert_eq!(
        s.job_run(&token, "true", &["--input", "/nonexistent/input"])
            .status
            .code(),
        Some(2)
    );
    let out = s
        .cmd()
        .args(["job", "run", "--tier", "vm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn read_manifest(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn host_install_writes_per_browser_manifests_limited_to_bridle() {
    let s = Setup::new("install");
    let home = s.path("home");
    let id = "abcdefghijklmnopabcdefghijklmnop";
    for (browser, dir) in [
        ("chrome", ".config/google-chrome/NativeMessagingHosts"),
        ("chromium", ".config/chromium/NativeMessagingHosts"),
    ] {
        let out = s
            .cmd()
            .args([
                "host",
                "install",
                "--browser",
                browser,
                "--extension-id",
                id,
                "--instance",
                "inst",
                "--policy",
            ])
            .arg(s.path("policy.toml"))
            .output()
            .unwrap();
        succeeded(&out);
        let m = read_manifest(&home.join(dir).join("dev.bridle.host.json"));
        assert_eq!(m["name"], "dev.bridle.host");
        assert_eq!(m["type"], "stdio");
        assert_eq!(
            m["allowed_origins"],
            serde_json::json!([format!("chrome-extension://{id}/")])
        );
        assert!(m.get("allowed_extensions").is_none());
        let launcher = PathBuf::from(m["path"].as_str().unwrap());
        assert!(launcher.is_absolute());
        let script = std::fs::read_to_string(&launcher).unwrap();
        assert!(
            script.contains(" host --policy ") && script.contains("--instance 'inst'"),
            "{script}"
        );
    }
    let out = s
        .cmd()
        .args(["host", "install", "--browser", "firefox"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let firefox = home.join(".mozilla/native-messaging-hosts/dev.bridle.host.json");
    assert_eq!(
        read_manifest(&firefox)["allowed_extensions"],
        serde_json::json!(["bridle@bridle.dev"])
    );

    // Chrome needs a well-formed id.
    let out = s
        .cmd()
        .args(["host", "install", "--browser", "chrome"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = s
        .cmd()
        .args([
            "host",
            "install",
            "--browser",
            "chrome",
            "--extension-id",
            "chrome-extension://*",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = s
        .cmd()
        .args(["host", "uninstall", "--browser", "firefox"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!firefox.exists());
}

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string().into_bytes();
    let mut f = (body.len() as u32).to_ne_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

fn read_frame(r: &mut impl Read) -> Option<Value> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(marker)
                })
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn bridle_host_serves_a_browser_and_kills_jobs_when_it_disconnects() {
    let s = Setup::new("serve");
    let mut host = s
        .cmd()
        .args(["host", "--instance", "inst", "--policy"])
        .arg(s.path("policy.toml"))
        .arg("chrome-extension://abcdefghijklmnopabcdefghijklmnop/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = host.stdin.take().unwrap();
    let mut stdout = host.stdout.take().unwrap();
    stdin
        .write_all(&frame(&serde_json::json!({"kind": "hello"})))
        .unwrap();
    assert_eq!(read_frame(&mut stdout).unwrap()["kind"], "hello");

    let marker = format!("{}.{}", std::process::id() % 1000 + 2000, 37);
    let code = format!("sleep {marker} &\nuntil grep -q {marker} /proc/$!/cmdline 2>/dev/null; do :; done\necho started\nwait\n");
    let job = serde_json::json!({"kind": "job", "id": "j", "token": s.token("inst"), "runtime": "sh",
        "code": code, "tier": "container"});
    stdin.write_all(&frame(&job)).unwrap();
    loop {
        let v = read_frame(&mut stdout).expect("the host ended before the job started");
        assert!(v["kind"] != "refused" && v["kind"] != "error", "{v}");
        if v["kind"] == "output" {
            break;
        }
    }
    assert_eq!(processes_with(&format!("sleep {marker}")), 1);
    drop(stdin);
    let status = host.wait().unwrap();
    assert!(status.success());
    assert_eq!(processes_with(&format!("sleep {marker}")), 0);
}

#[test]
fn doctor_reports_every_check_and_exits_by_the_container_tier() {
    let out = Command::new(bridle_bin())
        .args(["doctor", "--json", "--no-kvm-probe"])
        .output()
        .unwrap();
    let report = json(&out);
    let works = report["container_tier"].as_bool().unwrap();
    // Exit 0 exactly when container jobs work here.
    assert_eq!(out.status.success(), works, "{report}");
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for wanted in [
        "bubblewrap",
        "user namespaces",
        "seccomp",
        "landlock",
        "cgroups",
        "container job",
        "job network",
        "qemu",
        "vm network",
        "kvm",
        "guest kernel",
        "warm python3",
    ] {
        assert!(names.contains(&wanted), "no `{wanted}` in {names:?}");
    }
    // Every finding that is not ok says how to fix it.
    for c in checks {
        let status = c["status"].as_str().unwrap();
        assert!(["ok", "warn", "fail"].contains(&status), "{c}");
        assert!(!c["detail"].as_str().unwrap().is_empty(), "{c}");
        if status != "ok" && c["check"] != "kvm" {
            assert!(c["fix"].as_str().is_some_and(|f| !f.is_empty()), "{c}");
        }
    }
}

/// This process's effective uid (from `/proc/self/status`: the tests crate has no libc).
fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    uids.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// An IPv4 address of this machine that is not loopback, from `ip`.
fn host_address() -> String {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let found = text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        Some(words.next()?.split('/').next()?.to_owned())
    });
    found.unwrap_or_else(|| panic!("no IPv4 address other than loopback here: {text}"))
}

/// A browser starts the host as the user, never as root: a container job granted network
/// still gets it there. slirp4netns's own sandbox needs root, so such a host confines it with
/// Landlock (`host/src/container/net.rs`); this runs `bridle job run` as an unprivileged user
/// (as `nobody` when the tests run as root) and has the job fetch a line from a server on the
/// host's own address.
#[test]
fn a_host_that_is_not_root_gives_container_jobs_their_network() {
    const NOBODY: u32 = 65534;
    let s = Setup::new("unprivileged-net");
    let policy = std::fs::read_to_string(s.path("policy.toml")).unwrap() + "network = true\n";
    std::fs::write(s.path("policy.toml"), policy).unwrap();
    let token = s.token_with("inst", &["--network", "true"]);

    let address = host_address();
    let server = std::net::TcpListener::bind((address.as_str(), 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut peer, _)) = server.accept() {
            let _ = peer.write_all(b"hello from the host\n");
        }
    });
    let code = format!(
        "import socket\ns = socket.create_connection(('{address}', {port}), timeout=10)\n\
         print(s.recv(100).decode().strip())\n"
    );
    std::fs::write(s.path("code.py"), code).unwrap();
    // The host's own state folder, writable by the user it runs as.
    let state = s.path("state");
    std::fs::create_dir_all(&state).unwrap();
    let cmd = if euid() == 0 {
        std::os::unix::fs::chown(&state, Some(NOBODY), Some(NOBODY)).unwrap();
        let tun = std::fs::metadata("/dev/net/tun").map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o006 == 0o006
        });
        assert!(
            matches!(tun, Ok(true)),
            "/dev/net/tun is not readable and writable by every user ({tun:?}), as Debian's \
             udev makes it (mode 0666): `chmod 0666 /dev/net/tun` (.ci/setup does)"
        );
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bridle_bin());
        c
    } else {
        Command::new(bridle_bin())
    };
    let out = s
        .in_setup(cmd)
        .env("TMPDIR", "/tmp")
        .args(["job", "run", "--json", "--network", "--policy"])
        .arg(s.path("policy.toml"))
        .args([
            "--token",
            &token,
            "--instance",
            "inst",
            "--runtime",
            "python3",
        ])
        .args(["--tier", "container", "--code"])
        .arg(s.path("code.py"))
        .output()
        .unwrap();
    succeeded(&out);
    let v = json(&out);
    assert_eq!(v["stdout"], "hello from the host\n", "{v}");
    assert_eq!(v["exit"], 0, "{v}");
}
