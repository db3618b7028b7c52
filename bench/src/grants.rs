//! What a job's grants cost or bound, against the same job without them in the same process:
//!
//! - `network`: `sh -c 'exit 0'` start to end with a network grant (slirp4netns for the
//!   container tier, passt behind a virtio-net card for the microVM tier, restored from a
//!   snapshot that has the card, or booted cold) against the same job without one;
//! - `cpu`: a microVM job spinning for 3 s of its own clock under `cpu` 0.5 (a host CPU cgroup
//!   on QEMU) against `cpu` 1.0: the share of host CPU it got (`cpu_ms / wall_ms`).
//!
//! Needs slirp4netns, passt and the guest (`scripts/guest-kernel.sh`).

use crate::microvm::SnapshotCache;
use bridle_host::container::{launcher_args, Container};
use bridle_host::job::{Cancel, JobOutcome, JobSpec, Limits, NullSink, Sandbox, Tier};
use bridle_host::microvm::{detected_accel, Artifacts, Boot, Microvm};
use std::time::{Duration, Instant};

/// Container jobs per configuration (interleaved); microVM jobs per configuration.
const CONTAINER_RUNS: usize = 15;
const MICROVM_RUNS: usize = 7;

fn job(runtime: &str, code: &str, tier: Tier, network: bool, limits: Limits) -> JobSpec {
    JobSpec {
        runtime: runtime.to_owned(),
        code: code.as_bytes().to_vec(),
        input: Vec::new(),
        limits,
        network,
        tier,
    }
}

fn timed(sandbox: &dyn Sandbox, spec: &JobSpec) -> Result<(Duration, JobOutcome), String> {
    let start = Instant::now();
    let outcome = sandbox
        .run(spec, &mut NullSink, &Cancel::new())
        .map_err(|e| e.to_string())?;
    if outcome.exit != Some(0) {
        return Err(format!("benchmark job failed: {outcome:?}"));
    }
    Ok((start.elapsed(), outcome))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A restoring and a cold-booting tier sharing a snapshot folder of their own, removed when
/// the returned guard is dropped.
fn microvms() -> Result<(Microvm, Microvm, SnapshotCache), String> {
    let artifacts = Artifacts::locate().map_err(|e| e.to_string())?;
    let accel = detected_accel(&artifacts);
    let cache = SnapshotCache::new();
    Ok((
        Microvm::new(artifacts.clone(), accel, Boot::Snapshot, cache.path()),
        Microvm::new(artifacts, accel, Boot::Cold, cache.path()),
        cache,
    ))
}

pub fn network() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let container = Container::with_launcher(exe, launcher_args()).map_err(|e| e.to_string())?;
    let plain = job("sh", "exit 0", Tier::Container, false, Limits::default());
    let granted = job("sh", "exit 0", Tier::Container, true, Limits::default());
    // One untimed run of each first (page cache, slirp4netns's first start).
    timed(&container, &plain)?;
    timed(&container, &granted)?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..CONTAINER_RUNS {
        without.push(timed(&container, &plain)?.0);
        with.push(timed(&container, &granted)?.0);
    }
    let (without, with) = (median(without), median(with));
    println!(
        "network grant, container `sh -c 'exit 0'` ({CONTAINER_RUNS} runs each, interleaved): \
         with {:.1} ms vs without {:.1} ms: +{:.1} ms, ratio {:.2}×",
        ms(with),
        ms(without),
        ms(with) - ms(without),
        with.as_secs_f64() / without.as_secs_f64().max(f64::MIN_POSITIVE)
    );

    let (snapshot, cold, _cache) = microvms()?;
    let plain = job("sh", "exit 0", Tier::Microvm, false, Limits::default());
    let granted = job("sh", "exit 0", Tier::Microvm, true, Limits::default());
    let rows: [(&str, &Microvm, &JobSpec); 4] = [
        ("snapshot, no network", &snapshot, &plain),
        ("cold boot, no network", &cold, &plain),
        (
            "network (passt), snapshot with the card",
            &snapshot,
            &granted,
        ),
        ("network (passt), cold boot", &cold, &granted),
    ];
    // One untimed run of each: the snapshot is made, the page cache warm.
    for (_, tier, spec) in rows {
        timed(tier, spec)?;
    }
    let mut medians = Vec::new();
    for (label, tier, spec) in rows {
        let runs = (0..MICROVM_RUNS)
            .map(|_| timed(tier, spec).map(|(d, _)| d))
            .collect::<Result<Vec<_>, _>>()?;
        medians.push((label, median(runs)));
    }
    let base = medians[0].1.as_secs_f64().max(f64::MIN_POSITIVE);
    for (label, d) in medians {
        println!(
            "network grant, microVM `sh -c 'exit 0'` ({MICROVM_RUNS} runs): {label} {:.0} ms, \
             {:.2}× the snapshot without network",
            ms(d),
            d.as_secs_f64() / base
        );
    }
    Ok(())
}

pub fn cpu() -> Result<(), String> {
    let (snapshot, _, _cache) = microvms()?;
    let spin = "import time\nt = time.monotonic()\nn = 0\nwhile time.monotonic() - t < 3:\n    n += 1\nprint(n)";
    let mut shares = Vec::new();
    for cpu in [1.0, 0.5] {
        let limits = Limits {
            cpu,
            wall: Duration::from_secs(30),
            ..Limits::default()
        };
        let (_, o) = timed(
            &snapshot,
            &job("python3", spin, Tier::Microvm, false, limits),
        )?;
        let cpu_ms = o.cpu_ms.ok_or("the job reported no CPU time")?;
        let share = cpu_ms as f64 / o.wall_ms.max(1) as f64;
        println!(
            "cpu limit {cpu}, microVM python3 spinning 3 s of guest time: cpu_ms {cpu_ms} in \
             wall_ms {}: share {share:.2}, limits hit {:?}",
            o.wall_ms, o.limits_hit
        );
        shares.push(share);
    }
    println!(
        "cpu limit 0.5 against 1.0: share ratio {:.2}×",
        shares[1] / shares[0].max(f64::MIN_POSITIVE)
    );
    Ok(())
}
