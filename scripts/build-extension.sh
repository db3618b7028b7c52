#!/usr/bin/env bash
# Builds the browser extension: dist/chrome/ and dist/firefox/, loadable unpacked, and their
# archives (`make dist`).
#
#   1. the executor binding (extension/, crate bridle-extension) for wasm32, by whichever route
#      this machine has (scripts/cargo-wasm), optimised for size;
#   2. wasm-bindgen (the CLI must match the single `wasm-bindgen = "=X"` pin in Cargo.toml)
#      writes the glue and the .wasm to extension/pkg/;
#   3. tsc type-checks the TypeScript strictly (pages and service worker separately);
#   4. extension/build.mjs bundles it with esbuild, copies the pages and the wasm, and derives
#      the browser's manifest from the root manifest.json.
#
# Browsers: BRIDLE_BROWSERS (default "chrome firefox"); each gets dist/<browser>/ and an archive
# (dist/bridle-chrome.zip, the unsigned dist/bridle-firefox.xpi) from the same sources, the
# differences generated in extension/build.mjs and kept in extension/ts/compat.ts
# (docs/browsers.md).
#
#   scripts/build-extension.sh                    build
#   scripts/build-extension.sh --wasm-bindgen-pin print the pinned wasm-bindgen version
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# The one place the version is written is the workspace's Cargo.toml.
wasm_bindgen_pin() {
  local pin
  pin=$(sed -n 's/^wasm-bindgen = "=\([0-9][0-9.]*\)".*/\1/p' Cargo.toml)
  if [ -z "$pin" ]; then
    echo 'error: no `wasm-bindgen = "=X.Y.Z"` pin in Cargo.toml [workspace.dependencies]' >&2
    return 1
  fi
  printf '%s\n' "$pin"
}

if [ "${1:-}" = "--wasm-bindgen-pin" ]; then
  wasm_bindgen_pin
  exit 0
fi

log() { printf '\033[1m[build-extension]\033[0m %s\n' "$*"; }
fail() { printf 'error: %s\n' "$1" >&2; [ -z "${2:-}" ] || printf '  help: %s\n' "$2" >&2; exit 1; }

browsers="${BRIDLE_BROWSERS:-chrome firefox}"
target_dir="${CARGO_TARGET_DIR:-target}"
pin=$(wasm_bindgen_pin)

command -v wasm-bindgen >/dev/null 2>&1 ||
  fail "wasm-bindgen is not installed" "run .ci/setup (it installs wasm-bindgen-cli $pin)"
have=$(wasm-bindgen --version | awk '{print $2}')
[ "$have" = "$pin" ] ||
  fail "wasm-bindgen $have is installed, but Cargo.toml pins $pin" "run .ci/setup to install the pinned CLI"
[ -d extension/node_modules ] ||
  fail "extension/node_modules is missing" "run .ci/setup (or \`npm ci\` in extension/)"

# Size over speed: the executor is small work per call, and the wasm is downloaded and
# compiled at every service-worker start. Set here rather than in the workspace's release
# profile, so other release builds keep theirs. (Measured: 2.45 MB → 2.24 MB raw.)
log "wasm: cargo build -p bridle-extension (release, opt-level s, fat LTO)"
CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  scripts/cargo-wasm --release --quiet -p bridle-extension
wasm="$target_dir/wasm32-unknown-unknown/release/bridle_extension.wasm"
[ -f "$wasm" ] || fail "the wasm build did not produce $wasm"

log "wasm-bindgen $have → extension/pkg/"
rm -rf extension/pkg
wasm-bindgen --target web --out-dir extension/pkg --out-name bridle_extension "$wasm"

log "tsc --noEmit (strict): pages, then service worker"
(cd extension && npx --no-install tsc -p tsconfig.json && npx --no-install tsc -p tsconfig.worker.json)

for browser in $browsers; do
  # The unpacked folder, and the same as one archive: Chrome's .zip, Firefox's unsigned .xpi.
  case "$browser" in firefox) archive="dist/bridle-firefox.xpi" ;; *) archive="dist/bridle-$browser.zip" ;; esac
  log "bundle → dist/$browser/, $archive"
  node extension/build.mjs "$browser" "dist/$browser" "$archive"
done

out=extension/pkg/bridle_extension_bg.wasm
log "wasm size: $(stat -c %s "$out") bytes raw, $(gzip -9c "$out" | wc -c) bytes gzip -9"
