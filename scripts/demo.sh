#!/usr/bin/env bash
# The main job (`make demo`): builds what is missing (the CLI, the extension), then runs
# web-tests/demo.mjs: the reference planner and a demo shop on 127.0.0.1, Chromium with the
# extension (a window when a display is present, headless otherwise), pairing, a shopping
# script with a vault secret and an approved checkout, and `bridle audit verify` of the log
# exported to target/demo/audit.jsonl. `make demo DEMO_FLAGS=--deny` shows the denial path.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --quiet -p bridle-cli
bash scripts/build-extension.sh >/dev/null
cd web-tests
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
exec node demo.mjs "$@"
