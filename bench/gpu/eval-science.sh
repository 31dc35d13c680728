#!/usr/bin/env bash
# After `bench/gpu/check.sh science` on the GPU machine: joins the checkpoint parts it returned and evaluates the
# 15-epoch models here, as bench/science.sh does (1000 images per set, IWAE K=20; letters need this machine's
# fonts and AWT, which the GPU machine's runtime lacks); Likelihood Ratio too where a background model came back.
#   bench/gpu/eval-science.sh PARTS_DIR [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
parts=${1:?usage: bench/gpu/eval-science.sh PARTS_DIR [OUT_DIR]}; out=${2:-frl-science-gpu}; n=1000
mkdir -p "$out"
./frl data fetch   # the font packages the letters are drawn with (as root; else it says what to run)
background=()
for m in frl plain background; do
  if ! ls "$parts"/$m-vae.part.* > /dev/null 2>&1; then
    [ $m = background ] && continue
    echo "no $m-vae.part.* in $parts" >&2; exit 1
  fi
  cat "$parts"/$m-vae.part.* > "$out/$m-vae.safetensors.tmp" && mv "$out/$m-vae.safetensors.tmp" "$out/$m-vae.safetensors"
  [ $m = background ] && background=(--background "$out/background-vae.safetensors")
done
./frl eval --frl "$out/frl-vae.safetensors" --plain "$out/plain-vae.safetensors" "${background[@]}" \
  --in "fashion-mnist:test@$n" --ood "mnist@$n,letters@$n,noise:$n,constant:$n" --out "$out"
