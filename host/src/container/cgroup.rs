//! Job cgroups: memory, pids and CPU limits through whichever layout the host has — cgroup v2
//! (a delegated subtree), or the v1 controllers of a v1/v2 hybrid — nested under the host
//! process's own cgroup, killed and removed after the job.
//!
//! When neither layout lets the host create a child cgroup, [`Layout::detect`] says so and the
//! container tier falls back to rlimits (see `shim`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// CFS period for the CPU limit: the kernel's default, 100 ms.
const CPU_PERIOD_US: u64 = 100_000;
/// How long [`JobCgroup::kill_all`] keeps killing and waiting for the cgroup to empty: a
/// SIGKILLed process leaves within milliseconds; this bounds a pathological case.
const KILL_DEADLINE: Duration = Duration::from_secs(5);

/// Which cgroup layout a job can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// cgroup v2: the directory under which job cgroups are created (its `cgroup.subtree_control`
    /// enables memory, pids and cpu).
    V2 { parent: PathBuf },
    /// cgroup v1: one parent directory per controller.
    V1 {
        memory: PathBuf,
        pids: PathBuf,
        cpu: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
    },
    /// Neither is usable; `why` explains, for `bridle doctor`.
    None { why: String },
}

impl Layout {
    /// Finds a usable layout from `/proc/self/mountinfo` and `/proc/self/cgroup`.
    pub fn detect() -> Layout {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        Layout::from_tables(&mountinfo, &own, probe_writable)
    }

    /// The decision itself, on the two tables' text; `usable` tells whether a parent directory
    /// lets us create children (a real probe in [`Layout::detect`], a stub in tests).
    pub fn from_tables(mountinfo: &str, own: &str, usable: impl Fn(&Path) -> bool) -> Layout {
        let mut v1_mounts: Vec<(Vec<String>, PathBuf)> = Vec::new();
        let mut v2_mount: Option<PathBuf> = None;
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let mount_point = left.split(' ').nth(4).unwrap_or_default();
            let mut right = right.split(' ');
            let fstype = right.next().unwrap_or_default();
            let _source = right.next();
            let opts = right.next().unwrap_or_default();
            match fstype {
                "cgroup2" => v2_mount = Some(PathBuf::from(mount_point)),
                "cgroup" => {
                    let controllers = opts.split(',').map(str::to_owned).collect();
                    v1_mounts.push((controllers, PathBuf::from(mount_point)));
                }
                _ => {}
            }
        }
        // /proc/self/cgroup: `id:controllers:path`; v2 is `0::path`.
        let mut v1_paths: Vec<(Vec<String>, String)> = Vec::new();
        let mut v2_path: Option<String> = None;
        for line in own.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(ctl), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if id == "0" && ctl.is_empty() {
                v2_path = Some(path.to_owned());
            } else {
                v1_paths.push((ctl.split(',').map(str::to_owned).collect(), path.to_owned()));
            }
        }
        let v1_dir = |controller: &str| -> Option<PathBuf> {
            let (_, mount) = v1_mounts
                .iter()
                .find(|(opts, _)| opts.iter().any(|o| o == controller))?;
            let (_, path) = v1_paths
                .iter()
                .find(|(ctls, _)| ctls.iter().any(|c| c == controller))?;
            Some(mount.join(path.trim_start_matches('/')))
        };
        // v2 first, when it has the controllers (a pure v2 host, or a hybrid whose unified
        // hierarchy holds them).
        let mut why = Vec::new();
        if let (Some(mount), Some(path)) = (&v2_mount, &v2_path) {
            let dir = mount.join(path.trim_start_matches('/'));
            let controllers =
                fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
            if has("memory") && has("pids") && usable(&dir) {
                return Layout::V2 { parent: dir };
            }
            why.push(format!(
                "cgroup v2 at {} offers `{}` (needs memory and pids delegated to a child cgroup)",
                dir.display(),
                controllers.trim()
            ));
        }
        match (v1_dir("memory"), v1_dir("pids")) {
            (Some(memory), Some(pids)) if usable(&memory) && usable(&pids) => Layout::V1 {
                memory,
                pids,
                cpu: v1_dir("cpu").filter(|d| usable(d)),
                cpuacct: v1_dir("cpuacct").filter(|d| usable(d)),
            },
            (memory, pids) => {
                why.push(format!(
                    "cgroup v1 memory at {}, pids at {} (needs both, writable)",
                    memory.map_or("none".into(), |p| p.display().to_string()),
                    pids.map_or("none".into(), |p| p.display().to_string())
                ));
                Layout::None {
                    why: why.join("; "),
                }
            }
        }
    }

    /// A short name: `v2`, `v1`, `none`.
    pub fn name(&self) -> &'static str {
        match self {
            Layout::V2 { .. } => "v2",
            Layout::V1 { .. } => "v1",
            Layout::None { .. } => "none",
        }
    }
}

/// The host's layout ([`Layout::detect`]) after [`reap_stale`]: what a tier starts with.
pub fn detect_and_reap() -> Layout {
    let layout = Layout::detect();
    reap_stale(&layout);
    layout
}

/// Removes job cgroups left by host processes that no longer exist (a host killed outright
/// cannot clean up after itself; the next one does). Their processes are killed first: a job
/// that outlived its host by some accident does not outlive the next.
pub fn reap_stale(layout: &Layout) {
    let parents: Vec<&PathBuf> = match layout {
        Layout::V2 { parent } => vec![parent],
        Layout::V1 {
            memory,
            pids,
            cpu,
            cpuacct,
        } => {
            let mut v = vec![memory, pids];
            v.extend(cpu.iter());
            v.extend(cpuacct.iter());
            v
        }
        Layout::None { .. } => Vec::new(),
    };
    for parent in parents {
        for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(owner) = name
                .to_str()
                .and_then(|n| {
                    n.strip_prefix("bridle-job-")
                        .or(n.strip_prefix("bridle-probe-"))
                })
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if Path::new(&format!("/proc/{owner}")).exists() {
                continue;
            }
            // Dropping a JobCgroup kills what is inside and removes the directory.
            drop(JobCgroup {
                dirs: vec![entry.path()],
                layout: layout.clone(),
            });
        }
    }
}

/// Whether we can create (and remove) a child cgroup under `dir`.
fn probe_writable(dir: &Path) -> bool {
    // Unique per call: two containers probing at once must not collide on the name.
    let probe = dir.join(format!(
        "bridle-probe-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    if fs::create_dir(&probe).is_err() {
        return false;
    }
    // cgroup v2: a child gets memory.max and pids.max only when the parent enables those
    // controllers for its children, which the kernel refuses while the parent holds processes
    // itself (the "no internal processes" rule). Try once; without them the layout is unusable.
    let v2 = probe.join("cgroup.controllers").exists();
    let limits_ok = |p: &Path| p.join("memory.max").exists() && p.join("pids.max").exists();
    let ok = !v2 || limits_ok(&probe) || {
        let _ = fs::write(dir.join("cgroup.subtree_control"), "+memory +pids +cpu");
        limits_ok(&probe)
    };
    fs::remove_dir(&probe).is_ok() && ok
}

/// Limits to write into a job cgroup.
#[derive(Debug, Clone, Copy)]
pub struct CgroupLimits {
    pub memory: u64,
    pub pids: u32,
    pub cpu: f64,
}

/// What the cgroup saw, read before removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    pub peak_memory: Option<u64>,
    pub cpu_ms: Option<u64>,
    pub memory_hit: bool,
    pub pids_hit: bool,
    pub cpu_throttled: bool,
}

/// One job's cgroup(s): created with limits, joined by the sandbox's processes, killed and
/// removed on drop, errors included.
#[derive(Debug)]
pub struct JobCgroup {
    /// Every directory created, in creation order (one for v2, one per controller for v1).
    dirs: Vec<PathBuf>,
    layout: Layout,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("write `{value}` to {}: {e}", path.display()),
        )
    })
}

/// `cpu` cores as microseconds of CPU per [`CPU_PERIOD_US`] (at least 1 ms: the kernel's
/// floor).
fn cpu_quota_us(cpu: f64) -> u64 {
    ((cpu * CPU_PERIOD_US as f64).round() as u64).max(1000)
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `key value` line's value in a flat-keyed file (`memory.events`, `cpu.stat`).
fn keyed(path: &Path, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

impl JobCgroup {
    /// Creates the job's cgroup(s) under `layout` and writes the limits. `None` when the layout
    /// is [`Layout::None`].
    pub fn create(layout: &Layout, limits: CgroupLimits) -> io::Result<Option<JobCgroup>> {
        let (name, mut cg) = JobCgroup::named(layout);
        let quota = cpu_quota_us(limits.cpu);
        match layout {
            Layout::None { .. } => return Ok(None),
            Layout::V2 { parent } => {
                // Enabling controllers for children is idempotent; it fails when the parent
                // still holds processes directly, which the probe in `detect` would not catch.
                let _ = write(&parent.join("cgroup.subtree_control"), "+memory +pids +cpu");
                let dir = cg.mkdir(parent, &name)?;
                write(&dir.join("memory.max"), &limits.memory.to_string())?;
                let _ = write(&dir.join("memory.swap.max"), "0");
                write(&dir.join("pids.max"), &limits.pids.to_string())?;
                let _ = write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"));
            }
            Layout::V1 {
                memory,
                pids,
                cpu,
                cpuacct,
            } => {
                let dir = cg.mkdir(memory, &name)?;
                write(
                    &dir.join("memory.limit_in_bytes"),
                    &limits.memory.to_string(),
                )?;
                // With swap accounting, cap memory plus swap at the same figure: no swapping
                // around the limit.
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &limits.memory.to_string())?;
                }
                let dir = cg.mkdir(pids, &name)?;
                write(&dir.join("pids.max"), &limits.pids.to_string())?;
                if let Some(cpu) = cpu {
                    let dir = cg.mkdir(cpu, &name)?;
                    write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                    write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
                }
                if let Some(cpuacct) = cpuacct {
                    if cpu.as_deref() != Some(cpuacct.as_path()) {
                        cg.mkdir(cpuacct, &name)?;
                    }
                }
            }
        }
        Ok(Some(cg))
    }

    /// A cgroup that limits only CPU (`cpu` cores per period), for a process whose memory and
    /// processes are bounded otherwise (a microVM: `-m`, and the guest's own limits). `None`
    /// when the layout has no usable CPU controller: [`Layout::None`], or v1 without `cpu`.
    pub fn create_cpu(layout: &Layout, cpu: f64) -> io::Result<Option<JobCgroup>> {
        let (name, mut cg) = JobCgroup::named(layout);
        let quota = cpu_quota_us(cpu);
        match layout {
            Layout::V2 { parent } => {
                let _ = write(&parent.join("cgroup.subtree_control"), "+memory +pids +cpu");
                let dir = cg.mkdir(parent, &name)?;
                write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
            }
            Layout::V1 {
                cpu: Some(cpu),
                cpuacct,
                ..
            } => {
                let dir = cg.mkdir(cpu, &name)?;
                write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
                if let Some(cpuacct) = cpuacct {
                    if cpuacct != cpu {
                        cg.mkdir(cpuacct, &name)?;
                    }
                }
            }
            Layout::V1 { cpu: None, .. } | Layout::None { .. } => return Ok(None),
        }
        Ok(Some(cg))
    }

    /// The CPU quota file and its content: `cpu.max` (v2) or `cpu.cfs_quota_us` (v1), if any.
    pub fn cpu_quota(&self) -> Option<(PathBuf, String)> {
        self.dirs.iter().find_map(|dir| {
            ["cpu.max", "cpu.cfs_quota_us"].iter().find_map(|f| {
                let path = dir.join(f);
                let text = fs::read_to_string(&path).ok()?;
                Some((path, text.trim().to_owned()))
            })
        })
    }

    /// A fresh job cgroup name (this host process and a counter) and an empty cgroup set.
    fn named(layout: &Layout) -> (String, JobCgroup) {
        let name = format!(
            "bridle-job-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let cg = JobCgroup {
            dirs: Vec::new(),
            layout: layout.clone(),
        };
        (name, cg)
    }

    fn mkdir(&mut self, parent: &Path, name: &str) -> io::Result<PathBuf> {
        let dir = parent.join(name);
        fs::create_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("create {}: {e}", dir.display())))?;
        self.dirs.push(dir.clone());
        Ok(dir)
    }

    /// Moves a process into every one of the job's cgroups.
    pub fn add(&self, pid: u32) -> io::Result<()> {
        for dir in &self.dirs {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The pids in the job's cgroup.
    pub fn pids(&self) -> Vec<u32> {
        let Some(dir) = self.dirs.first() else {
            return Vec::new();
        };
        fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// SIGKILLs every process in the cgroup until it is empty (v1 has no `cgroup.kill`; a
    /// process forking while we read is caught by the next round, and the pids limit bounds
    /// the rounds).
    pub fn kill_all(&self) {
        if let Some(dir) = self.dirs.first() {
            if write(&dir.join("cgroup.kill"), "1").is_ok() {
                // v2 with cgroup.kill: the kernel kills everything at once.
            }
        }
        let deadline = Instant::now() + KILL_DEADLINE;
        loop {
            let pids = self.pids();
            if pids.is_empty() || Instant::now() > deadline {
                return;
            }
            for pid in pids {
                if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Reads peak memory, CPU time and which limits were hit.
    pub fn stats(&self) -> CgroupStats {
        let mut stats = CgroupStats::default();
        match &self.layout {
            Layout::V2 { .. } => {
                let Some(dir) = self.dirs.first() else {
                    return stats;
                };
                stats.peak_memory = read_u64(&dir.join("memory.peak"));
                stats.memory_hit = keyed(&dir.join("memory.events"), "max").unwrap_or(0) > 0
                    || keyed(&dir.join("memory.events"), "oom_kill").unwrap_or(0) > 0;
                stats.pids_hit = keyed(&dir.join("pids.events"), "max").unwrap_or(0) > 0;
                stats.cpu_ms = keyed(&dir.join("cpu.stat"), "usage_usec").map(|u| u / 1000);
                stats.cpu_throttled = keyed(&dir.join("cpu.stat"), "nr_throttled").unwrap_or(0) > 0;
            }
            Layout::V1 { .. } => {
                for dir in &self.dirs {
                    if dir.join("memory.max_usage_in_bytes").exists() {
                        stats.peak_memory = read_u64(&dir.join("memory.max_usage_in_bytes"));
                        stats.memory_hit = read_u64(&dir.join("memory.failcnt")).unwrap_or(0) > 0
                            || keyed(&dir.join("memory.oom_control"), "oom_kill").unwrap_or(0) > 0;
                    }
                    if dir.join("pids.events").exists() {
                        stats.pids_hit = keyed(&dir.join("pids.events"), "max").unwrap_or(0) > 0;
                    }
                    if dir.join("cpuacct.usage").exists() {
                        stats.cpu_ms =
                            read_u64(&dir.join("cpuacct.usage")).map(|ns| ns / 1_000_000);
                    }
                    if dir.join("cpu.cfs_quota_us").exists() {
                        stats.cpu_throttled =
                            keyed(&dir.join("cpu.stat"), "nr_throttled").unwrap_or(0) > 0;
                    }
                }
            }
            Layout::None { .. } => {}
        }
        stats
    }
}

impl Drop for JobCgroup {
    /// Kills what is left and removes the directories, newest first. A cgroup with a process
    /// in it cannot be removed, hence the kill first.
    fn drop(&mut self) {
        self.kill_all();
        for dir in self.dirs.iter().rev() {
            // A just-killed process may linger for a moment as a zombie being reaped.
            for _ in 0..100 {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str = "8:pids:/\n4:memory:/api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

    #[test]
    fn hybrid_uses_v1_under_own_cgroup() {
        let layout = Layout::from_tables(HYBRID_MOUNTS, HYBRID_OWN, |_| true);
        assert_eq!(
            layout,
            Layout::V1 {
                memory: "/sys/fs/cgroup/memory/api/abc".into(),
                pids: "/sys/fs/cgroup/pids".into(),
                cpu: Some("/sys/fs/cgroup/cpu".into()),
                cpuacct: Some("/sys/fs/cgroup/cpuacct".into()),
            }
        );
    }

    /// The v2 file protocol, on a plain folder standing in for a cgroup2 parent (this machine
    /// has v1 controllers, so no real v2 cgroup can be made here): the limits written, in the
    /// kernel's formats (Documentation/admin-guide/cgroup-v2.rst), and the statistics read back
    /// from files in those formats.
    #[test]
    fn v2_limits_and_statistics_use_the_kernels_files() {
        let parent =
            std::env::temp_dir().join(format!("bridle-fake-cgroup2-{}", std::process::id()));
        let _ = fs::remove_dir_all(&parent);
        fs::create_dir_all(&parent).unwrap();
        let layout = Layout::V2 {
            parent: parent.clone(),
        };
        let limits = CgroupLimits {
            memory: 256 << 20,
            pids: 64,
            cpu: 0.5,
        };
        let cg = JobCgroup::create(&layout, limits).unwrap().unwrap();
        let dir = cg.dirs[0].clone();
        let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(
            fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap(),
            "+memory +pids +cpu"
        );
        assert_eq!(read("memory.max"), (256u64 << 20).to_string());
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(read("pids.max"), "64");
        assert_eq!(read("cpu.max"), "50000 100000");
        // What the kernel would have counted for a job that hit every limit.
        fs::write(dir.join("memory.peak"), "12345678\n").unwrap();
        fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        )
        .unwrap();
        fs::write(dir.join("pids.events"), "max 2\n").unwrap();
        fs::write(
            dir.join("cpu.stat"),
            "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 30\nnr_throttled 12\nthrottled_usec 900000\n",
        )
        .unwrap();
        assert_eq!(
            cg.stats(),
            CgroupStats {
                peak_memory: Some(12_345_678),
                cpu_ms: Some(2500),
                memory_hit: true,
                pids_hit: true,
                cpu_throttled: true,
            }
        );
        // A job that hit nothing.
        fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
        )
        .unwrap();
        fs::write(dir.join("pids.events"), "max 0\n").unwrap();
        fs::write(dir.join("cpu.stat"), "usage_usec 1000\nnr_throttled 0\n").unwrap();
        let quiet = cg.stats();
        assert!(
            !quiet.memory_hit && !quiet.pids_hit && !quiet.cpu_throttled,
            "{quiet:?}"
        );
        // A CPU-only cgroup writes the quota alone.
        let cpu_only = JobCgroup::create_cpu(&layout, 1.5).unwrap().unwrap();
        let cpu_dir = cpu_only.dirs[0].clone();
        assert_eq!(
            fs::read_to_string(cpu_dir.join("cpu.max")).unwrap(),
            "150000 100000"
        );
        assert!(!cpu_dir.join("memory.max").exists() && !cpu_dir.join("pids.max").exists());
        // No process was added: dropping writes `cgroup.kill`, finds no pid to signal, and the
        // plain folders (unlike cgroupfs) keep their files; they are removed here.
        drop(cg);
        drop(cpu_only);
        assert_eq!(fs::read_to_string(dir.join("cgroup.kill")).unwrap(), "1");
        fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn cpu_quotas() {
        assert_eq!(cpu_quota_us(0.5), 50_000);
        assert_eq!(cpu_quota_us(2.0), 200_000);
        assert_eq!(cpu_quota_us(0.0), 1000);
    }

    #[test]
    fn cpu_only_cgroups_need_a_cpu_controller() {
        let no_cpu = Layout::V1 {
            memory: "/nonexistent/memory".into(),
            pids: "/nonexistent/pids".into(),
            cpu: None,
            cpuacct: None,
        };
        assert!(JobCgroup::create_cpu(&no_cpu, 0.5).unwrap().is_none());
        let none = Layout::None { why: String::new() };
        assert!(JobCgroup::create_cpu(&none, 0.5).unwrap().is_none());
    }

    /// On a host that lets us create cgroups: a CPU-only cgroup has the quota, no memory or
    /// pids limit of its own, holds a process, and is gone (process killed) after drop.
    #[test]
    fn cpu_only_cgroup_limits_cpu_alone_and_is_removed() {
        let layout = Layout::detect();
        let Some(cg) = JobCgroup::create_cpu(&layout, 0.5).unwrap() else {
            eprintln!("skipped: no usable CPU controller ({})", layout.name());
            return;
        };
        let (file, quota) = cg.cpu_quota().unwrap();
        if file.ends_with("cpu.max") {
            assert_eq!(quota, "50000 100000");
        } else {
            assert_eq!(quota, "50000");
        }
        for dir in &cg.dirs {
            assert!(!dir.join("memory.limit_in_bytes").exists());
            assert!(!dir.join("pids.max").exists() || layout.name() == "v2");
            if layout.name() == "v2" {
                let max = |f: &str| fs::read_to_string(dir.join(f)).unwrap_or_default();
                assert_eq!(max("memory.max").trim(), "max");
                assert_eq!(max("pids.max").trim(), "max");
            }
        }
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        cg.add(child.id()).unwrap();
        assert_eq!(cg.pids(), vec![child.id()]);
        let dirs = cg.dirs.clone();
        drop(cg);
        let status = child.wait().unwrap();
        assert!(!status.success(), "the cgroup's process was killed");
        for dir in dirs {
            assert!(!dir.exists(), "{} removed", dir.display());
        }
    }

    #[test]
    fn nothing_writable_is_none() {
        let layout = Layout::from_tables(HYBRID_MOUNTS, HYBRID_OWN, |_| false);
        assert_eq!(layout.name(), "none");
    }
}
