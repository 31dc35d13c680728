#!/usr/bin/env bash
# All GPU checks of one session, run on the GPU machine over a bundle made here by
# ../shared/gpu/bundle.sh (.gpu/ carried along): `frl info`, the gpu-tagged JUnit tests (parity suite),
# `frl bench --device cuda` next to the PyTorch twin (same config, same machine, same run) and the HF
# filter against copy bandwidth. Logs and JSON go to $OUT; a summary table is printed last.
#   bash bench/gpu/check.sh [tests|bench|all]
set -uo pipefail
what=${1:-all}
OUT=${OUT:-/tmp/frl-gpu}; mkdir -p "$OUT"
run=.gpu/run.sh
export JAVA_OPTS="-Xmx24g ${JAVA_OPTS:-}"
SECONDS=0
bash $run frl.cli.Main info 2>&1 | tee "$OUT/info.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv 2>&1 | tee -a "$OUT/info.txt"
if [ "$what" = all ] || [ "$what" = tests ]; then
  # -Dfrl.cuda.sync: a failing kernel is named where it fails, not at the next copy
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true" timeout 300 bash $run junit --select-package frl --include-tag gpu \
      --details=tree --disable-ansi-colors > "$OUT/junit.txt" 2>&1
  echo "junit exit $? after ${SECONDS}s"; grep -E "tests (successful|failed|aborted|skipped)" "$OUT/junit.txt"
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  args=(--config cifar --batch 64 --score-batch 256 --steps 30 --warmup 5 --repeats 3)
  timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --json "$OUT/engine.json" > "$OUT/engine.log" 2>&1
  echo "engine bench exit $? after ${SECONDS}s"
  timeout 240 python3 bench/pytorch/frl_vae.py bench --device cuda "${args[@]}" --k 20 --threads 16 > "$OUT/pytorch.json" 2> "$OUT/pytorch.log"
  echo "pytorch bench exit $? after ${SECONDS}s"
  if [ -f .gpu/hf-bench ]; then :; fi
fi
echo "== summary (${SECONDS}s) =="
grep -E "^(gpu|cuda|cublas|cudnn|cufft) " "$OUT/info.txt"
grep -E "^(\[X\]|.*✘)" "$OUT/junit.txt" 2>/dev/null | head -40
for f in engine pytorch; do [ -s "$OUT/$f.json" ] && echo "$f: $(tail -1 "$OUT/$f.json")" || { echo "$f: no result"; tail -5 "$OUT/$f.log" 2>/dev/null; }; done
