#!/usr/bin/env bash
# Compiles each src/main/cuda/<family>.cu into <out>/<family>.fatbin: SASS for sm_80 and sm_90 plus
# compute_90 PTX (the GPU driver here is CUDA 13.0: never ship only newer PTX). Maven runs this in
# generate-resources; without nvcc the build goes on with a warning and the jar has no CUDA kernels.
#   native/build.sh OUT_DIR        (NVCC=/path/to/nvcc to choose the compiler)
set -euo pipefail
shopt -s nullglob
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: native/build.sh OUT_DIR}
nvcc=${NVCC:-$(command -v nvcc || ls /usr/local/cuda*/bin/nvcc 2>/dev/null | sort -V | tail -1 || true)}
if [ -z "$nvcc" ] || [ ! -x "$nvcc" ]; then
  echo "[WARNING] nvcc not found: building without CUDA kernels; --device cuda will be unavailable" >&2
  exit 0
fi
gencode=(-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90)
mkdir -p "$out"
deps=("$root"/native/include/*.cuh "$0")
built=0
for cu in "$root"/src/main/cuda/*.cu; do
  fb="$out/$(basename "$cu" .cu).fatbin"
  stale=0; [ -f "$fb" ] || stale=1
  for d in "$cu" "${deps[@]}"; do [ "$d" -nt "$fb" ] && stale=1; done
  [ $stale = 1 ] || continue
  "$nvcc" -fatbin -O3 -std=c++17 -I "$root/native/include" "${gencode[@]}" -o "$fb.tmp" "$cu"
  mv "$fb.tmp" "$fb"; built=$((built + 1))
done
echo "cuda kernels: $built fatbin(s) built with $("$nvcc" --version | tail -1) into $out"
