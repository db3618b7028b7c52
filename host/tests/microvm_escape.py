# Escape attempts run inside one microVM job (host/tests/microvm.rs). Every attempt reports
# "blocked" (the attempt failed as it must), "escaped" (it worked: a hole), or "error" (the
# check itself broke: also a test failure, never a silent pass). Parameters come on stdin.
import ctypes, errno, json, os, signal, socket, sys, time

P = json.load(sys.stdin)
R = {}
libc = ctypes.CDLL(None, use_errno=True)


def attempt(name):
    def run(f):
        try:
            verdict, detail = f()
        except Exception as e:  # a broken check must not look like a blocked escape
            verdict, detail = "error", f"{type(e).__name__}: {e}"
        R[name] = {"result": verdict, "detail": str(detail)[:400]}
        return f
    return run


def writes_that_work(tries):
    """The indexes of the attempted writes (callables) that did not raise OSError."""
    done = []
    for i, t in enumerate(tries):
        try:
            t()
            done.append(i)
        except OSError:
            pass
    return done


def opens(path, mode="rb"):
    """Whether `path` opens (and reads) in `mode`; the OSError text when it does not."""
    try:
        with open(path, mode) as f:
            if "r" in mode:
                f.read(1)
        return True, "opened"
    except OSError as e:
        return False, f"{path}: {e.strerror}"


@attempt("tcp_connect")
def _():
    errs = []
    for host, port in [("10.0.2.2", 80), ("1.1.1.1", 443), ("192.168.0.1", 22), ("127.0.0.1", 22)]:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((host, port))
            return "escaped", f"connected to {host}:{port}"
        except OSError as e:
            errs.append(f"{host}:{port} {e}")
        finally:
            s.close()
    return "blocked", "; ".join(errs)


@attempt("udp_send")
def _():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"bridle", ("8.8.8.8", 53))
        return "escaped", "a UDP datagram was accepted for 8.8.8.8"
    except OSError as e:
        return "blocked", str(e)


@attempt("dns_lookup")
def _():
    try:
        addrs = socket.getaddrinfo("example.com", 80)
        return "escaped", f"resolved: {addrs[:2]}"
    except OSError as e:
        return "blocked", str(e)


@attempt("network_interfaces")
def _():
    names = [n for _, n in socket.if_nameindex()]
    with open("/proc/net/dev") as f:
        dev = [l.split(":")[0].strip() for l in f.readlines()[2:]]
    if set(names) - {"lo"} or set(dev) - {"lo"}:
        return "escaped", f"interfaces {names} {dev}"
    return "blocked", f"interfaces {names} {dev}"


@attempt("unix_socket_host_service")
def _():
    errs = []
    targets = ["/run/dbus/system_bus_socket", "/var/run/docker.sock", "/tmp/.X11-unix/X0",
               "/run/systemd/private", "\0" + P["abstract"]]
    for t in targets:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(t)
            return "escaped", f"connected to {t!r}"
        except OSError as e:
            errs.append(f"{t!r}: {e.strerror}")
        finally:
            s.close()
    return "blocked", "; ".join(errs)


@attempt("read_host_home")
def _():
    found = []
    for d in ["/root", "/home"]:
        try:
            found += [f"{d}/{n}" for n in os.listdir(d)]
        except OSError:
            pass
    for f in ["/root/.bashrc", "/root/.ssh/id_rsa", "/root/.cargo/env"]:
        ok, _ = opens(f)
        if ok:
            found.append(f)
    return ("escaped" if found else "blocked"), f"found {found}"


@attempt("read_host_etc")
def _():
    found = [f for f in ["/etc/shadow", "/etc/passwd", "/etc/hostname", "/etc/machine-id",
                         "/etc/ssh/ssh_host_ed25519_key"] if opens(f)[0]]
    try:
        listing = os.listdir("/etc")
    except OSError:
        listing = []
    if found or listing:
        return "escaped", f"read {found}, /etc holds {listing[:10]}"
    return "blocked", "guest /etc is empty"


@attempt("symlink_out_of_usr")
def _():
    # Host symlinks under /usr that point into the host's /etc resolve inside the guest.
    found = []
    for p in P["usr_links"]:
        try:
            if os.path.isdir(p):
                if os.listdir(p):
                    found.append(p)
            elif opens(p)[0]:
                found.append(p)
        except OSError:
            pass
    return ("escaped" if found else "blocked"), f"followed {found} of {P['usr_links']}"


@attempt("ninep_dotdot_traversal")
def _():
    found = [p for p in ["/usr/../etc/shadow", "/usr/bin/../../etc/passwd",
                         "/usr/../../../../etc/hostname", "/job/../chan.sock",
                         "/job/../../console.log", "/job/../job/../../qemu.err"]
             if os.path.exists(p)]
    listing = sorted(os.listdir("/job"))
    if found or listing != ["code", "input"]:
        return "escaped", f"reached {found}; /job holds {listing}"
    return "blocked", f"/job holds {listing}"


@attempt("write_shared_usr")
def _():
    tries = [
        lambda: open(f"/usr/{P['marker']}", "w").close(),
        lambda: os.mkdir(f"/usr/lib/{P['marker']}"),
        lambda: os.chmod("/usr/bin/python3", 0o777),
        lambda: os.utime("/usr/bin/sh", (0, 0)),
        lambda: os.rename("/usr/bin/sh", "/usr/bin/sh.x"),
        lambda: open("/usr/bin/sh", "ab").close(),
    ]
    done = writes_that_work(tries)
    return ("escaped" if done else "blocked"), f"writes that worked: {done}"


@attempt("write_warm_runtime")
def _():
    # The copies of the interpreter a warm guest started from (guest-init's warm.rs): another
    # job never sees them, but this one must not change what it runs on either.
    tries = [
        lambda: open(f"/rt/{P['marker']}", "w").close(),
        lambda: os.mkdir(f"/rt/usr/{P['marker']}"),
        lambda: [open(os.path.join(d, f), "ab").close() for d, _, fs in os.walk("/rt") for f in fs],
        lambda: [os.chmod(os.path.join(d, f), 0o777) for d, _, fs in os.walk("/rt") for f in fs],
    ]
    done = writes_that_work(tries)
    present = os.path.isdir("/rt/usr")
    return ("escaped" if done else "blocked"), f"warm runtime present: {present}; writes that worked: {done}"


@attempt("write_job_folder")
def _():
    done = [p for p, m in [("/job/code", "ab"), ("/job/input", "wb"), ("/job/new", "wb")]
            if opens(p, m)[0]]
    return ("escaped" if done else "blocked"), f"writable: {done}"


@attempt("read_other_job")
def _():
    marker = "".join(P["secret_halves"]).encode()
    hits = []
    for root, dirs, files in os.walk("/"):
        if root == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr")]
        for f in files:
            path = os.path.join(root, f)
            try:
                with open(path, "rb") as fh:
                    if marker in fh.read(1 << 20):
                        hits.append(path)
            except OSError:
                pass
    return ("escaped" if hits else "blocked"), f"secret found in {hits}"


@attempt("proc_of_init_and_host")
def _():
    me = os.getpid()
    visible = [int(n) for n in os.listdir("/proc") if n.isdigit()]
    foreign = [p for p in visible if p != me and os.stat(f"/proc/{p}").st_uid != os.getuid()]
    leaks = [f for f in ["/proc/1/environ", "/proc/1/cmdline", "/proc/1/fd", "/proc/kcore"]
             if os.path.exists(f) and opens(f)[0]]
    if foreign or leaks or 1 in visible:
        return "escaped", f"foreign pids {foreign}, readable {leaks}"
    return "blocked", f"visible pids {visible}"


@attempt("signal_or_ptrace_init")
def _():
    try:
        os.kill(1, signal.SIGKILL)
        return "escaped", "signalled init"
    except OSError as e:
        killed = str(e)
    PTRACE_ATTACH = 16
    r = libc.ptrace(PTRACE_ATTACH, 1, None, None)
    if r == 0:
        return "escaped", "ptrace-attached to init"
    return "blocked", f"kill: {killed}; ptrace: {os.strerror(ctypes.get_errno())}"


@attempt("device_nodes")
def _():
    opened = []
    for d in ["/dev/vport0p1", "/dev/ttyS0", "/dev/console", "/dev/mem", "/dev/kmem",
              "/dev/port", "/dev/kmsg", "/dev/rtc0", "/dev/hvc0", "/dev/vda"]:
        for mode in ("rb", "wb"):
            try:
                with open(d, mode, buffering=0):
                    opened.append(f"{d}:{mode}")
            except OSError:
                pass
    try:
        os.mknod("/tmp/mem", 0o20600, os.makedev(1, 1))
        opened.append("mknod /dev/mem")
    except OSError:
        pass
    return ("escaped" if opened else "blocked"), f"opened {opened}"


@attempt("become_root")
def _():
    if os.geteuid() == 0 or os.getuid() == 0:
        return "escaped", "the job runs as root"
    for f in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.seteuid(0)):
        try:
            f()
            return "escaped", "setuid(0) worked"
        except OSError:
            pass
    return "blocked", f"uid {os.getuid()}"


@attempt("io_uring")
def _():
    params = ctypes.create_string_buffer(120)
    fd = libc.syscall(425, 8, params)  # io_uring_setup
    if fd >= 0:
        return "escaped", "io_uring_setup returned a ring"
    return "blocked", os.strerror(ctypes.get_errno())


@attempt("mount_unshare_modules")
def _():
    worked = []
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0:
        worked.append("mount")
    if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
        worked.append("unshare(user)")
    if libc.syscall(175, None, 0, b"") == 0:  # init_module
        worked.append("init_module")
    if libc.syscall(169, 0xfee1dead, 672274793, 0x4321fedc, None) == 0:  # reboot(POWER_OFF)
        worked.append("reboot")
    return ("escaped" if worked else "blocked"), f"worked: {worked}"


@attempt("disk_fill")
def _():
    chunk = b"\0" * (1 << 20)
    written = 0
    err = None
    try:
        with open("/tmp/fill", "wb") as f:
            while written < 4 * P["tmp_limit"]:
                f.write(chunk)
                f.flush()
                written += len(chunk)
    except OSError as e:
        err = e.errno
    finally:
        try:
            os.unlink("/tmp/fill")
        except OSError:
            pass
    if err == errno.ENOSPC and written <= P["tmp_limit"]:
        return "blocked", f"ENOSPC after {written} bytes"
    return "escaped", f"wrote {written} bytes (errno {err})"


@attempt("fork_limit")
def _():
    kids = []
    err = None
    try:
        while len(kids) < 4 * P["pids"]:
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            kids.append(pid)
    except OSError as e:
        err = e.errno
    for k in kids:
        os.kill(k, signal.SIGKILL)
    for k in kids:
        os.waitpid(k, 0)
    if err == errno.EAGAIN and len(kids) < P["pids"]:
        return "blocked", f"fork failed (EAGAIN) after {len(kids)} children"
    return "escaped", f"{len(kids)} children (errno {err})"


print(json.dumps(R))
