#!/usr/bin/env bash
# The science run behind the README's AUROC table: FRL, plain and background (Likelihood Ratio's: the plain one on
# perturbed images) VAEs on FashionMNIST for EPOCHS epochs (reference schedule otherwise), then nll / ic / ratio /
# nll_frl / frl on FashionMNIST-test vs MNIST, letters, noise and constant, N images per set, IWAE K=20.
#   bench/science.sh [OUT_DIR] [EPOCHS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-frl-science}; epochs=${2:-1}; n=${3:-1000}
./frl data fetch   # the data, and the font packages the letters are drawn with (as root; else it says what to run)
./frl train --data fashion-mnist:train --epochs "$epochs" --overwrite --out "$out/frl-vae.safetensors"
./frl train --data fashion-mnist:train --no-hf --epochs "$epochs" --overwrite --out "$out/plain-vae.safetensors"
./frl train --data fashion-mnist:train --no-hf --perturb 0.2 --epochs "$epochs" --overwrite --out "$out/background-vae.safetensors"
./frl eval --frl "$out/frl-vae.safetensors" --plain "$out/plain-vae.safetensors" --background "$out/background-vae.safetensors" \
  --in "fashion-mnist:test@$n" --ood "mnist@$n,letters@$n,noise:$n,constant:$n" --out "$out"
