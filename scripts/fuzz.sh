#!/usr/bin/env bash
# Runs every cargo-fuzz target for N seconds each (default 60) and prints one line per target.
# Needs the nightly toolchain (rustup) and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz
for target in $(cargo +nightly fuzz list); do
  echo "== $target: ${seconds}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 \
    | grep -E '^(#[0-9]+.*DONE|Done|==[0-9]+== ERROR|SUMMARY)' || true
done
