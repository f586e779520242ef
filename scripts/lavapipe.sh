#!/usr/bin/env bash
# Mesa's lavapipe (a Vulkan driver on the CPU) at a version whose adapter has WebGPU's `shader-f16`,
# for the tests of the WebGPU backend's native float16 path (the `webgpu-lavapipe` test project).
# SwiftShader, which runs the other WebGPU tests, has no shader-f16, and Debian 12's own lavapipe
# (Mesa 22.3) is refused by Dawn; bookworm-backports' Mesa 25 has both. The package is fetched with apt
# into this script's own state and unpacked with dpkg -x under DEST (default: .cache/lavapipe in the
# repository, where the tests look), so the machine's apt sources and installed packages are left as
# they are. Prints the ICD file's path.
# Usage: bash scripts/lavapipe.sh [DEST]
set -euo pipefail
dest="$(realpath -m "${1:-$(dirname "$0")/../.cache/lavapipe}")"
icd="$dest/lvp_icd.json"

# The version the tests were written against. Backports keeps only its newest build: when this one is
# gone, the newest is taken and named (a changed driver should be a visible change, not a silent one).
MESA_VERSION=25.0.7-2~bpo12+1

# The driver links the system's LLVM 15, libdrm and X/Wayland client libraries (.ci/run installs
# libllvm15). A library or symbol missing would only show later as "no adapter", so name it now.
check_links() {
  local missing
  missing="$(ldd -r "$1" 2>&1 | grep -E 'not found|undefined symbol' || true)"
  if [ -n "$missing" ]; then
    echo "lavapipe.sh: $1 needs what this machine lacks:" >&2
    echo "$missing" >&2
    exit 1
  fi
}

if [ -f "$icd" ]; then
  lib="$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd")"
  if [ -f "$lib" ]; then check_links "$lib"; echo "$icd"; exit 0; fi
  rm -f "$icd" # moved or deleted: fetch it again
fi

state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dest"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$state/sources.list"
apt_private=(-qq -o "Dir::Etc::sourcelist=$state/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$state/lists"
  -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update
# apt-get update only warns when the mirror can't be reached.
if ! compgen -G "$state/lists/*bookworm-backports*Packages*" >/dev/null; then
  echo "lavapipe.sh: could not read bookworm-backports' package list from deb.debian.org (no network, or a proxy in the way?)" >&2
  exit 1
fi
candidate="$(apt-cache "${apt_private[@]}" policy mesa-vulkan-drivers | sed -n 's/^ *Candidate: *//p')"
if apt-cache "${apt_private[@]}" madison mesa-vulkan-drivers | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$MESA_VERSION"; then
  version="$MESA_VERSION"
else
  version="$candidate"
  echo "lavapipe.sh: mesa-vulkan-drivers $MESA_VERSION is no longer in bookworm-backports; taking $version" >&2
fi
(cd "$state" && apt-get "${apt_private[@]}" download "mesa-vulkan-drivers=$version")
dpkg -x "$state"/mesa-vulkan-drivers_*.deb "$dest/root"
lib="$(find "$dest/root" -name libvulkan_lvp.so | head -n 1)"
[ -n "$lib" ] || { echo "lavapipe.sh: no libvulkan_lvp.so in $(basename "$state"/mesa-vulkan-drivers_*.deb)" >&2; exit 1; }
check_links "$lib"
api="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$dest"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -n 1)"
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s", "api_version": "%s" } }\n' "$lib" "$api" >"$icd.tmp"
mv "$icd.tmp" "$icd"
echo "$icd"
