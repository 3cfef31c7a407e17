#!/usr/bin/env bash
# Assembles bench/gpu-node/kit/ (git-ignored) for run.sh on a GPU machine that has no Node and no network: Node 20
# (xz), dawn.node from the `webgpu` npm package (xz), the Debian Vulkan loader and GL dispatch libraries, and the
# bundled check (check.mjs + the tfjs-backend-wasm binaries). About 31 MB. Run here, from anywhere.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KIT="$HERE/kit"
mkdir -p "$KIT/gl"
[ -f "$KIT/node.xz" ] || xz -T2 -6 -c "$(command -v node)" >"$KIT/node.xz"
if [ ! -f "$KIT/dawn.node.xz" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent webgpu@0.6.2 >/dev/null && tar xzf webgpu-0.6.2.tgz package/dist/linux-x64/dawn.node)
  xz -6 -c "$tmp/package/dist/linux-x64/dawn.node" >"$KIT/dawn.node.xz"
  rm -rf "$tmp"
fi
if ! ls "$KIT"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  lists="$(mktemp -d)"; mkdir -p "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists")
  apt-get "${o[@]}" update >/dev/null
  (cd "$KIT/gl" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  rm -rf "$lists"
fi
node "$HERE/build.mjs"
du -sh "$KIT"
