#!/bin/bash
# tsgrad's packed WebGPU benchmark (made by packages/bench/scripts/pack-gpu-bench.mjs): runs on Linux
# x86-64 with an NVIDIA GPU, no Node and no network. Unpacks Node and Dawn, unpacks Debian's Vulkan
# loader, finds NVIDIA's Vulkan ICD, runs PyTorch CUDA's GPT step when python3 has torch with CUDA
# (bench_torch.py --cuda), then the correctness checks and the benchmark, and prints one table.
#
#   ./run.sh [--quick] [--attention B,H,T] [--attention-only]
#                           results go to $OUT if set, else the current directory
#
# VK_ICD_FILENAMES, if set, is used as is (e.g. SwiftShader's, to try the folder without a GPU).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${TSGRAD_WORK:-${TMPDIR:-/tmp}/tsgrad-gpu-bench}"
results="${OUT:-$PWD}"
mkdir -p "$work/node_modules/webgpu/dist/linux-x64" "$results"

echo "== unpacking Node and Dawn into $work"
xz -dc "$here/node.xz" > "$work/node"
chmod +x "$work/node"
cp "$here/webgpu/package.json" "$here/webgpu/index.js" "$work/node_modules/webgpu/"
xz -dc "$here/webgpu/dawn.node.xz" > "$work/node_modules/webgpu/dist/linux-x64/dawn.node"
cp "$here/gpu-bench.mjs" "$work/"

echo "== unpacking the Vulkan loader and GL dispatch libraries (Debian packages)"
sysroot="$work/sysroot"
mkdir -p "$sysroot"
for deb in "$here"/debs/*.deb; do
  if command -v dpkg >/dev/null; then
    dpkg -x "$deb" "$sysroot"
  else
    # No dpkg: a .deb is an ar archive holding data.tar.*.
    tmp="$(mktemp -d)"
    (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* -C "$sysroot")
    rm -rf "$tmp"
  fi
done
libs="$sysroot/usr/lib/x86_64-linux-gnu:$sysroot/lib/x86_64-linux-gnu"
# NVIDIA's own libraries (libGLX_nvidia.so.0, the ICD's library_path) where containers mount them.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia /usr/lib64; do
  [ -d "$d" ] && libs="$libs:$d"
done
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f"; break; fi
  done
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  found="$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan /usr/lib -maxdepth 5 -name 'nvidia_icd*.json' 2>/dev/null | head -1 || true)"
  [ -n "$found" ] && export VK_ICD_FILENAMES="$found"
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  echo "run.sh: no NVIDIA Vulkan ICD JSON found (looked in /usr/local/nvidia, /usr/share/vulkan, /etc/vulkan); set VK_ICD_FILENAMES" >&2
  exit 3
fi
echo "== Vulkan ICD: $VK_ICD_FILENAMES"
# Dawn wants a runtime directory.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  export XDG_RUNTIME_DIR="$work/xdg"
  mkdir -p "$XDG_RUNTIME_DIR"
  chmod 700 "$XDG_RUNTIME_DIR"
fi

torch_args=()
python="${TSGRAD_PYTHON:-$(command -v python3 || true)}"
if [ -n "$python" ] && "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "== PyTorch CUDA: the GPT step (bench_torch.py --cuda, $python)"
  if "$python" "$here/bench_torch.py" --cuda > "$results/pytorch-cuda.json"; then
    torch_args=(--torch "$results/pytorch-cuda.json")
  else
    echo "run.sh: bench_torch.py --cuda failed; the table goes on without PyTorch" >&2
  fi
else
  echo "== PyTorch CUDA: not here (no python3 with torch and CUDA); tsgrad alone"
fi

echo "== correctness checks, then the benchmark ($("$work/node" --version))"
cd "$results"
NODE_PATH="$work/node_modules" "$work/node" "$work/gpu-bench.mjs" ${torch_args[@]+"${torch_args[@]}"} "$@"
