#!/usr/bin/env bash
# Builds the microVM tier's guest (host/src/microvm/): everything lands in target/guest/.
#
#   target/guest/vmlinux     the kernel: Debian's linux-source-6.1, `make tinyconfig` plus the
#                            committed fragment host/guest-init/kernel.config, uncompressed ELF
#                            (QEMU boots it by PVH: no decompression under TCG)
#   target/guest/init        the guest's init (crate bridle-guest-init), a static binary
#   target/guest/initrd.cpio the initramfs: init, mount points and the /bin, /lib, /lib64
#                            links into the host /usr the job sees read-only
#
# Idempotent: each part is rebuilt only when its inputs changed (a stamp holds their digest).
# Caches only under target/guest/. About 2.5 minutes from scratch on 2 cores; seconds after.
#   scripts/guest-kernel.sh            build what is missing or stale
#   scripts/guest-kernel.sh --check    exit 1 (and say why) unless everything is up to date
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m[guest-kernel]\033[0m %s\n' "$*"; }
fail() { printf 'error: %s\n' "$1" >&2; [ -z "${2:-}" ] || printf '  help: %s\n' "$2" >&2; exit 1; }

out=target/guest
tarball=/usr/src/linux-source-6.1.tar.xz
fragment=host/guest-init/kernel.config
src="$out/linux-source-6.1"
check_only=0
built=0
[ "${1:-}" = "--check" ] && check_only=1

[ -f "$tarball" ] || fail "$tarball is missing" "apt-get install linux-source-6.1 (or run .ci/setup)"
mkdir -p "$out"

# ---- kernel -------------------------------------------------------------------------------
# The digest covers the source package, the fragment and this script's build recipe.
kernel_key=$( { stat -c '%s %Y' "$tarball"; cat "$fragment"; sed -n '/^# ---- kernel/,/^# ---- init/p' "$0"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/vmlinux.key" 2>/dev/null || true)" != "$kernel_key" ] || [ ! -f "$out/vmlinux" ]; then
  [ "$check_only" = 1 ] && fail "the guest kernel $out/vmlinux is missing or stale" "run scripts/guest-kernel.sh"
  if [ ! -f "$src/Makefile" ] || [ "$(cat "$out/source.key" 2>/dev/null || true)" != "$(stat -c '%s %Y' "$tarball")" ]; then
    log "extracting $tarball"
    rm -rf "$src"
    tar -C "$out" -xJf "$tarball"
    stat -c '%s %Y' "$tarball" > "$out/source.key"
  fi
  log "configuring (tinyconfig + $fragment)"
  make -s -C "$src" ARCH=x86_64 tinyconfig >/dev/null
  (cd "$src" && scripts/kconfig/merge_config.sh -m .config "../../../$fragment" >/dev/null)
  make -s -C "$src" ARCH=x86_64 olddefconfig >/dev/null
  # A fragment line the kernel silently dropped (a missing dependency) would be a guest that
  # cannot boot a job: refuse instead.
  missing=0
  while IFS= read -r line; do
    case "$line" in CONFIG_*=*) grep -qx "$line" "$src/.config" || { echo "  not set: $line" >&2; missing=1; } ;; esac
  done < "$fragment"
  [ "$missing" = 0 ] || fail "the kernel configuration dropped lines of $fragment" "add their dependencies to the fragment"
  log "building vmlinux ($(nproc) jobs; about 2.5 minutes on 2 cores)"
  # Every string operation through the kernel's own memset/memcpy (see the fragment).
  make -s -C "$src" ARCH=x86_64 -j"$(nproc)" KCFLAGS="-mstringop-strategy=libcall" vmlinux
  cp "$src/vmlinux" "$out/vmlinux.tmp"
  strip --strip-debug "$out/vmlinux.tmp" 2>/dev/null || true
  mv "$out/vmlinux.tmp" "$out/vmlinux"
  printf '%s\n' "$kernel_key" > "$out/vmlinux.key"
  built=1
  log "kernel ready: $out/vmlinux"
fi

# ---- init ---------------------------------------------------------------------------------
# A static binary: it runs before the host /usr (and so any libc) is mounted in the guest. Its
# own target dir keeps the crt-static flags from invalidating the workspace's normal builds.
init_inputs=$( { find host/guest-init -type f \( -name '*.rs' -o -name '*.py' -o -name Cargo.toml \) -print0 | sort -z | xargs -0 cat; grep -A3 'name = "bridle-guest-init"' Cargo.lock || true; sed -n '/^# ---- init/,/^# ---- end/p' "$0"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/initrd.key" 2>/dev/null || true)" != "$init_inputs" ] || [ ! -f "$out/initrd.cpio" ]; then
  [ "$check_only" = 1 ] && fail "the guest init $out/initrd.cpio is missing or stale" "run scripts/guest-kernel.sh"
  [ -x "$src/usr/gen_init_cpio" ] || make -s -C "$src" ARCH=x86_64 usr/gen_init_cpio
  log "building the static guest init"
  CARGO_TARGET_DIR="$out/cargo" RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --quiet --release --locked -p bridle-guest-init --target x86_64-unknown-linux-gnu
  cp "$out/cargo/x86_64-unknown-linux-gnu/release/bridle-guest-init" "$out/init"
  if file "$out/init" 2>/dev/null | grep -q 'dynamically linked'; then
    fail "$out/init is dynamically linked" "the guest has no libc before /usr is mounted"
  fi
  cat > "$out/initrd.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0555 0 0
dir /sys 0555 0 0
dir /tmp 1777 0 0
dir /usr 0755 0 0
dir /job 0755 0 0
dir /etc 0755 0 0
slink /bin usr/bin 0777 0 0
slink /sbin usr/sbin 0777 0 0
slink /lib usr/lib 0777 0 0
slink /lib64 usr/lib64 0777 0 0
file /init $PWD/$out/init 0700 0 0
EOF
  "$src/usr/gen_init_cpio" "$out/initrd.list" > "$out/initrd.cpio.tmp"
  mv "$out/initrd.cpio.tmp" "$out/initrd.cpio"
  printf '%s\n' "$init_inputs" > "$out/initrd.key"
  built=1
  log "init ready: $out/initrd.cpio"
fi
# ---- end ----------------------------------------------------------------------------------
[ "$built" = 1 ] || log "up to date: $out/vmlinux, $out/initrd.cpio"
exit 0
