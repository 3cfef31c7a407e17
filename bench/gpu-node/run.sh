#!/usr/bin/env bash
# Quorum WebGPU check on a real GPU. Run from the repo root:  bash bench/gpu-node/run.sh [check.mjs args]
#   e.g. --quick (64x64, 2 members, no 2048 run), --guard 240, --sizes 2048, --runs 3, --members 12
# Needs this folder with its kit/ (made by prepare.sh; carry bench/gpu-node/kit) and the repo's tracked files
# (models/, data/samples/): Node 20 and dawn.node are carried xz-compressed, the Vulkan loader and GL dispatch
# libraries as Debian packages. Writes to $OUT (else <kit>/out):
#   results.json (everything), run.log (this script's output), probe*.json (adapter probes), diag.txt (on trouble).
# Environment overrides:
#   QUORUM_VK_ICD=/path/icd.json   Vulkan ICD to use (default: /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
#                                  when it exists, else the loader's defaults)
#   QUORUM_WORK=/tmp/quorum-webgpu where node, dawn.node and the Vulkan loader are unpacked
#   QUORUM_TIMEOUT=380             hard wall-clock limit for check.mjs in seconds (its own guard is --guard, 240 s)
#   QUORUM_NODE=/path/node         use this node instead of the carried one
set -u
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$KIT/kit"
OUTDIR="${OUT:-$BIN/out}"
mkdir -p "$OUTDIR"
WORK="${QUORUM_WORK:-/tmp/quorum-webgpu}"
mkdir -p "$WORK"

say() { echo "[run.sh $(date +%H:%M:%S)] $*"; }

# xz -d, or Python's lzma when xz is not installed.
unxz_to() {
  local src="$1" dst="$2"
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$src" >"$dst.tmp" && mv "$dst.tmp" "$dst"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"), 1<<20)' "$src" "$dst.tmp" && mv "$dst.tmp" "$dst"
  else
    echo "neither xz nor python3 to decompress $src" >&2
    return 1
  fi
}

# Unpack a .deb's data archive into a folder: dpkg -x, else ar + tar, else Python.
unpack_deb() {
  local deb="$1" dst="$2"
  mkdir -p "$dst"
  if command -v dpkg >/dev/null 2>&1; then
    dpkg -x "$deb" "$dst" && return 0
  fi
  if command -v ar >/dev/null 2>&1; then
    (cd "$dst" && ar x "$deb" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary) && return 0
  fi
  python3 - "$deb" "$dst" <<'PY'
import io, sys, tarfile
deb, dst = sys.argv[1], sys.argv[2]
b = open(deb, 'rb').read()
assert b[:8] == b'!<arch>\n'
i = 8
while i < len(b):
    name = b[i:i+16].decode().strip().rstrip('/'); size = int(b[i+48:i+58].decode().strip()); i += 60
    if name.startswith('data.tar'):
        tarfile.open(fileobj=io.BytesIO(b[i:i+size])).extractall(dst)
    i += size + (size & 1)
PY
}

diagnostics() {
  {
    echo "== Vulkan / NVIDIA diagnostics =="
    echo "-- env"; env | grep -E '^(VK_|NVIDIA|LD_LIBRARY_PATH|__EGL|XDG)' | sort
    for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
      echo "-- ls $d"; ls -la "$d" 2>&1
      for f in "$d"/*.json; do [ -f "$f" ] && { echo "   $f:"; cat "$f"; echo; }; done
    done
    echo "-- ldconfig -p | grep -i -E 'vulkan|GLX_nvidia|nvidia-glvk|EGL_nvidia'"
    ldconfig -p 2>/dev/null | grep -i -E 'vulkan|GLX_nvidia|nvidia-glvk|EGL_nvidia'
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
      echo "-- ls $d | grep -i -E 'vulkan|GLX|glvk|EGL|nvidia-gpucomp|cuda.so'"
      ls "$d" 2>/dev/null | grep -i -E 'vulkan|GLX|glvk|EGL|nvidia-gpucomp|libcuda.so' | head -40
    done
    echo "-- /dev/nvidia* /dev/dri"; ls -la /dev/nvidia* /dev/dri 2>&1 | head -20
    echo "-- nvidia-smi"; (nvidia-smi 2>&1 || true) | head -20
    command -v vulkaninfo >/dev/null && { echo "-- vulkaninfo --summary"; vulkaninfo --summary 2>&1 | head -40; }
  } 2>&1
}

main() {
  say "kit: $KIT   out: $OUTDIR   work: $WORK   cwd: $(pwd)"
  say "system: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); $(ldd --version 2>&1 | head -1)"
  say "cpus: $(nproc 2>/dev/null)   $(nvidia-smi -L 2>/dev/null | head -2 | tr '\n' ' ')"

  # 1. Node 20 (carried) and dawn.node
  local NODE="${QUORUM_NODE:-}"
  if [ -z "$NODE" ]; then
    if [ ! -x "$WORK/node" ] || [ "$BIN/node.xz" -nt "$WORK/node" ]; then
      say "decompressing node…"; unxz_to "$BIN/node.xz" "$WORK/node" && chmod +x "$WORK/node"
    fi
    NODE="$WORK/node"
  fi
  if ! "$NODE" --version >/dev/null 2>&1; then
    say "carried node does not run here:"; "$NODE" --version 2>&1 | head -5; ldd "$NODE" 2>&1 | head -10
    if command -v node >/dev/null 2>&1; then NODE="$(command -v node)"; say "falling back to system node $("$NODE" --version)"; else say "no usable node: giving up"; return 1; fi
  fi
  say "node: $NODE $("$NODE" --version)"
  if [ ! -f "$WORK/dawn.node" ] || [ "$BIN/dawn.node.xz" -nt "$WORK/dawn.node" ]; then
    say "decompressing dawn.node…"; unxz_to "$BIN/dawn.node.xz" "$WORK/dawn.node"
  fi
  # dawn.node needs GLIBC 2.34 and GLIBCXX_3.4.30 (GCC 12's libstdc++): report what is missing, if anything.
  if ldd "$WORK/dawn.node" 2>&1 | grep -q 'not found\|version .* not found'; then
    say "dawn.node has unresolved libraries:"; ldd "$WORK/dawn.node" 2>&1 | grep 'not found'
  fi

  # 2a. As root, install the carried Vulkan loader and GL dispatch libraries (libglvnd) system-wide: NVIDIA's
  # Vulkan driver (libGLX_nvidia.so.0) needs libGLdispatch, and without it the loader finds the ICD but
  # vkCreateInstance fails ("Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'"), as seen on an
  # H200 machine on 2026-11-27; with them the adapter appeared.
  # Only where NVIDIA's container driver is (not on a development machine).
  if [ -d /usr/local/nvidia ] && [ "$(id -u)" = 0 ] && ls "$BIN"/gl/*.deb >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    for f in "$BIN"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    say "installed $(ls "$BIN"/gl/*.deb | wc -l) carried GL/Vulkan packages into /"
  fi
  # 2b. Vulkan loader: the system's when it has one, else the carried Debian 12 libvulkan1 unpacked privately and
  # put next to dawn.node (Dawn looks there first) and on LD_LIBRARY_PATH. Nothing is written outside $WORK.
  if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    rm -f "$WORK/libvulkan.so.1" # Dawn tries its own folder first: keep a stale copy from shadowing the system's
    say "Vulkan loader: system ($(ldconfig -p | grep 'libvulkan\.so\.1' | head -1 | sed 's/.*=> //'))"
  else
    local deb; deb="$(ls "$BIN"/gl/libvulkan1_*.deb 2>/dev/null | head -1)"
    if [ -n "$deb" ]; then
      rm -rf "$WORK/vulkan"; unpack_deb "$deb" "$WORK/vulkan"
      local lib; lib="$(ls "$WORK"/vulkan/usr/lib/*/libvulkan.so.1 2>/dev/null | head -1)"
      if [ -n "$lib" ]; then
        cp -L "$lib" "$WORK/libvulkan.so.1"
        export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        say "Vulkan loader: carried $(basename "$deb") -> $WORK/libvulkan.so.1"
      else
        say "could not unpack $deb"
      fi
    else
      say "no system Vulkan loader and no libvulkan1 .deb in the kit"
    fi
  fi

  # 3. ICD: an override, else NVIDIA's container path when present, else the loader's defaults.
  local NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -n "${QUORUM_VK_ICD:-}" ]; then
    export VK_ICD_FILENAMES="$QUORUM_VK_ICD"
  elif [ -f "$NV_ICD" ]; then
    export VK_ICD_FILENAMES="$NV_ICD" VK_DRIVER_FILES="$NV_ICD"
  fi
  # The NVIDIA ICD names libGLX_nvidia.so.0 without a path: make the container's driver folder findable.
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d" ;; esac
  done
  say "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-<unset: loader defaults>}"
  [ -n "${VK_ICD_FILENAMES:-}" ] && [ -f "$VK_ICD_FILENAMES" ] && say "ICD: $(tr -d '\n ' <"$VK_ICD_FILENAMES")"
  say "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

  # 4. Probe the adapter (seconds). On failure: diagnostics, the loader's own log, and variants.
  if timeout 90 "$NODE" "$KIT/probe.mjs" "$WORK/dawn.node" "" >"$OUTDIR/probe.json" 2>"$OUTDIR/probe.stderr"; then
    say "probe: adapter found, compute shader OK"; cat "$OUTDIR/probe.json"
  else
    say "probe: NO usable WebGPU adapter with default flags"; cat "$OUTDIR/probe.json" "$OUTDIR/probe.stderr" 2>/dev/null | head -60
    diagnostics | tee "$OUTDIR/diag.txt"
    say "probe with VK_LOADER_DEBUG=error,warn,driver:"
    VK_LOADER_DEBUG=error,warn,driver timeout 90 "$NODE" "$KIT/probe.mjs" "$WORK/dawn.node" "" >"$OUTDIR/probe-loader-debug.json" 2>"$OUTDIR/probe-loader-debug.stderr"
    head -c 6000 "$OUTDIR/probe-loader-debug.stderr"; echo
    say "probe with dawn.node flag variants (backend=vulkan | enable-dawn-features=allow_unsafe_apis | backend=opengles):"
    timeout 120 "$NODE" "$KIT/probe.mjs" "$WORK/dawn.node" "backend=vulkan" "enable-dawn-features=allow_unsafe_apis" "backend=opengles" >"$OUTDIR/probe-variants.json" 2>"$OUTDIR/probe-variants.stderr"
    cat "$OUTDIR/probe-variants.json"; head -c 3000 "$OUTDIR/probe-variants.stderr"
    if [ -n "${VK_ICD_FILENAMES:-}" ] && [ -z "${QUORUM_VK_ICD:-}" ]; then
      say "probe with VK_ICD_FILENAMES unset (loader's default ICD search):"
      if env -u VK_ICD_FILENAMES timeout 90 "$NODE" "$KIT/probe.mjs" "$WORK/dawn.node" "" >"$OUTDIR/probe-default-icd.json" 2>&1; then
        say "-> works without VK_ICD_FILENAMES: using the loader's defaults"; unset VK_ICD_FILENAMES
      fi
      cat "$OUTDIR/probe-default-icd.json"
    fi
    say "check.mjs still runs: it records the WebGPU failure, tries the same variants, and runs the WASM stages"
  fi

  # 5. The check itself (its guard skips remaining stages and still writes results.json).
  say "running check.mjs $*"
  timeout --kill-after=10 "${QUORUM_TIMEOUT:-380}" "$NODE" --max-old-space-size=8192 "$BIN/check.mjs" \
    --dawn "$WORK/dawn.node" --out "$OUTDIR" "$@"
  local rc=$?
  [ $rc -eq 124 ] && say "check.mjs hit QUORUM_TIMEOUT; results.json holds what finished"
  say "check.mjs exit code $rc; files in $OUTDIR:"; ls -la "$OUTDIR"
  return $rc
}

main "$@" 2>&1 | tee "$OUTDIR/run.log"
exit "${PIPESTATUS[0]}"
