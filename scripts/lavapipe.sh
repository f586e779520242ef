#!/usr/bin/env bash
# Mesa's lavapipe (a Vulkan driver on the CPU) at a version whose adapter has WebGPU's `shader-f16`,
# for the tests of the WebGPU backend's native float16 path (the `webgpu-lavapipe` test project). SwiftShader,
# which runs the other WebGPU tests, has no shader-f16, and Debian 12's own lavapipe (Mesa 22.3) is
# refused by Dawn; bookworm-backports' Mesa 25 has both. The package is fetched with apt into this
# script's own state and unpacked with dpkg -x under DEST (default: .cache/lavapipe in the repository),
# so the machine's apt sources and installed packages are left as they are. Prints the ICD file's path.
# Usage: bash scripts/lavapipe.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$(realpath -m "${1:-.cache/lavapipe}")"
icd="$dest/lvp_icd.json"
if [ -f "$icd" ]; then echo "$icd"; exit 0; fi

state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dest"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$state/sources.list"
apt_private=(-qq -o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$state/lists"
  -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update
(cd "$state" && apt-get "${apt_private[@]}" download mesa-vulkan-drivers)
dpkg -x "$state"/mesa-vulkan-drivers_*.deb "$dest/root"
lib="$(find "$dest/root" -name libvulkan_lvp.so | head -n 1)"
[ -n "$lib" ] || { echo "lavapipe.sh: no libvulkan_lvp.so in $(basename "$state"/mesa-vulkan-drivers_*.deb)" >&2; exit 1; }
# The driver links the system's LLVM 15 and X/Wayland client libraries (.ci/run installs libllvm15);
# a missing one would only show later as "no adapter", so name it now.
if ldd "$lib" | grep -q 'not found'; then
  echo "lavapipe.sh: $lib needs libraries this machine lacks:" >&2
  ldd "$lib" | grep 'not found' >&2
  exit 1
fi
api="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$dest"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)"
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "%s" } }\n' "$lib" "$api" >"$icd.tmp"
mv "$icd.tmp" "$icd"
echo "$icd"
