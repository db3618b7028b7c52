//! A small, honest timer: warm up, then take the median of several rounds of many iterations.

use std::time::{Duration, Instant};

/// Median time per call of `f`, over `rounds` rounds of `iters` calls after a warm-up round.
pub fn median_per_call<T>(rounds: usize, iters: usize, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(f());
            }
            start.elapsed() / iters.max(1) as u32
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// Prints one comparison line and returns the ratio.
pub fn report(name: &str, ours: Duration, baseline_name: &str, baseline: Duration) -> f64 {
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{name}: {:.1} µs   {baseline_name}: {:.1} µs   ratio {ratio:.2}×",
        ours.as_secs_f64() * 1e6,
        baseline.as_secs_f64() * 1e6,
    );
    ratio
}
