//! The microVM tier: request to first output (the moment the job's first byte reaches the
//! output sink, measured from the call to `Sandbox::run`), a cold boot against a restore from
//! the pre-booted snapshot and (`python3`) from the snapshot with a warm interpreter, for `sh`
//! and `python3`. Baseline in the same process: the same program as a bare host process
//! (spawn to exit). Goals under TCG: cold at most 0.8 s, from a snapshot at most 0.25 s. Needs
//! the guest: `scripts/guest-kernel.sh`.

use bridle_host::job::{Cancel, JobSpec, Limits, OutputSink, Sandbox, Stream, Tier};
use bridle_host::microvm::{detected_accel, Artifacts, Boot, Microvm};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs per configuration; the median is reported (each run is a whole VM, about a second).
const RUNS: usize = 9;

/// A snapshot folder of this run's own (so making the snapshots is measured too), removed
/// with everything in it when dropped, on every path: snapshots are hundreds of megabytes.
pub struct SnapshotCache(std::path::PathBuf);

impl SnapshotCache {
    pub fn new() -> Self {
        SnapshotCache(
            std::env::temp_dir().join(format!("bridle-bench-snapshots-{}", std::process::id())),
        )
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.0.clone()
    }
}

impl Drop for SnapshotCache {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Records when the first output arrived.
struct FirstOutput {
    start: Instant,
    first: Option<Duration>,
}

impl OutputSink for FirstOutput {
    fn chunk(&mut self, _stream: Stream, _bytes: &[u8]) {
        if self.first.is_none() {
            self.first = Some(self.start.elapsed());
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Request-to-first-output and request-to-result medians over [`RUNS`] jobs.
fn measure(tier: &Microvm, spec: &JobSpec) -> Result<(Duration, Duration), String> {
    let mut first = Vec::new();
    let mut total = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut sink = FirstOutput { start, first: None };
        let outcome = tier
            .run(spec, &mut sink, &Cancel::new())
            .map_err(|e| e.to_string())?;
        total.push(start.elapsed());
        if outcome.exit != Some(0) {
            return Err(format!("benchmark job failed: {outcome:?}"));
        }
        first.push(sink.first.ok_or("the job printed nothing")?);
    }
    Ok((median(first), median(total)))
}

fn bare(program: &str, code: &str) -> Result<Duration, String> {
    let mut v = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = Command::new(program)
            .arg("-c")
            .arg(code)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        v.push(start.elapsed());
        if !out.status.success() {
            return Err(format!("{program} failed"));
        }
    }
    Ok(median(v))
}

pub fn run() -> Result<(), String> {
    let artifacts = Artifacts::locate().map_err(|e| e.to_string())?;
    let accel = detected_accel(&artifacts);
    let guard = SnapshotCache::new();
    let cache = guard.path();
    let cold = Microvm::new(artifacts.clone(), accel, Boot::Cold, cache.clone());
    let snap = Microvm::new(artifacts.clone(), accel, Boot::Snapshot, cache.clone());
    let warm = Microvm::new(artifacts, accel, Boot::Warm, cache.clone());
    let limits = Limits::default();
    for (what, tier, runtime) in [
        ("snapshot", &snap, "sh"),
        ("warm python3 snapshot", &warm, "python3"),
    ] {
        let before = snapshot_size(&cache);
        let made = Instant::now();
        tier.prepare_snapshot(limits.memory, runtime)
            .map_err(|e| e.to_string())?;
        let made = made.elapsed();
        println!(
            "microvm ({}): {what} made once in {:.0} ms ({:.1} MB on disk), {RUNS} runs per line",
            accel.as_str(),
            ms(made),
            snapshot_size(&cache).saturating_sub(before) as f64 / 1e6
        );
    }
    if let Err(why) = warm.warm_python() {
        println!("microvm: no warm python3 here ({why}): its line measures the plain snapshot");
    }
    for (runtime, program, code) in [
        ("sh", "/usr/bin/sh", "echo 1"),
        ("python3", "/usr/bin/python3", "print(1)"),
    ] {
        let spec = JobSpec {
            runtime: runtime.to_owned(),
            code: code.as_bytes().to_vec(),
            input: Vec::new(),
            limits,
            network: false,
            tier: Tier::Microvm,
        };
        let baseline = bare(program, code)?;
        let (cold_first, cold_total) = measure(&cold, &spec)?;
        let (snap_first, snap_total) = measure(&snap, &spec)?;
        let ratio = |a: Duration| a.as_secs_f64() / cold_first.as_secs_f64().max(f64::MIN_POSITIVE);
        let warm_part = if runtime == "python3" {
            let (warm_first, warm_total) = measure(&warm, &spec)?;
            format!(
                ", warm {:.0} ms (result {:.0} ms; warm/cold {:.2}×)",
                ms(warm_first),
                ms(warm_total),
                ratio(warm_first)
            )
        } else {
            String::new()
        };
        println!(
            "microvm {runtime} `{code}`: first output cold {:.0} ms (result {:.0} ms), \
             snapshot {:.0} ms (result {:.0} ms; snapshot/cold {:.2}×){warm_part}; \
             bare process {:.1} ms, cold/bare {:.0}×",
            ms(cold_first),
            ms(cold_total),
            ms(snap_first),
            ms(snap_total),
            ratio(snap_first),
            ms(baseline),
            cold_first.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE),
        );
    }
    Ok(())
}

fn snapshot_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                // Allocated bytes: the memory file is sparse.
                .map(|m| m.blocks() * 512)
                .sum()
        })
        .unwrap_or(0)
}
