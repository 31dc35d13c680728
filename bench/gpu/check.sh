#!/usr/bin/env bash
# The GPU checks of one session, run on the GPU machine over a bundle made here by ../shared/gpu/bundle.sh
# (.gpu/ carried along): `frl info`, the gpu-tagged JUnit tests (the parity suite), `frl bench --device cuda`
# next to the PyTorch twin (same configs, same machine, same run), and the kernel microbenchmarks.
# With science, also trains the FRL and plain VAEs for 15 epochs on FashionMNIST-train (the IDX file carried
# in data/: the GPU machine has no network) and returns the checkpoints in 15 MB parts, to evaluate here;
# SCIENCE_MODELS="frl plain background" adds Likelihood Ratio's background model (the plain one on perturbed images:
# 6 parts, so with log.txt and results.jsonl all 8 files that come back; run it in a call without tests).
#   bash bench/gpu/check.sh [tests] [bench] [kernels] [science] [quick] [each] [models] [hfprofile] [parts] [suite] [folder]
#   (no argument: tests bench kernels)
# quick (for a short device budget): only the new paths' tests and the forced model classes with NEW_PATHS on, cifar
# --graph by the defaults and with NEW_PATHS beside the twin, and bench-kernels both ways; it needs NEW_PATHS (where
# their tests fail, blame finds the switches the failing classes fail under, in at most BLAME_SECONDS + 30 s more).
# each: cifar --graph with each NEW_PATHS switch alone (about 3 s each), all of them together, then the winners
# together (summary.py --winners: tests passed, faster alone). On the H200 (2026-11-28, 13 switches) `quick each` took
# 391 s: the tests 101 s, blame 125 s (BLAME_SECONDS=120; the failing class, CudaSubPixelTest, takes over a minute
# a run), bench-kernels twice 120 s, each 32 s.
# On the H200 (2026-11-28, later, each step's seconds): models 148 (before its regret and turned-back-default runs),
# hfprofile 53, parts 120, suite 155.
# Read what comes back with `python3 bench/gpu/summary.py DIR`.
# Steps run in the order given (science first, say, when one call must hold them all and may run out of time).
# SCIENCE_FLAGS adds options to its `frl train` (--graph, say). NEW_PATHS: the switches of the paths written since
# the last GPU run, off by default until they pass here: tests runs them forced, bench and kernels time them too.
# Out ($OUT, at most 8 files come back): log.txt, junit.txt, junit-forced.txt, results.jsonl, ncu-hf.txt,
# {frl,plain,background}-vae.part.*
set -uo pipefail
steps=${*:-tests bench kernels}
OUT=${OUT:-/tmp/frl-gpu}; mkdir -p "$OUT"
log=$OUT/log.txt res=$OUT/results.jsonl
run=.gpu/run.sh
export JAVA_OPTS="-Xmx24g ${JAVA_OPTS:-}"
# NEW_PATH_TESTS: the test classes of those paths (run alone, forced on). The steps for new paths are skipped while
# NEW_PATHS is empty. A NEW_PATHS in the environment replaces this list (GpuCheckScriptTest runs the script so).
if [ -z "${NEW_PATHS+set}" ]; then
  NEW_PATHS="-Dfrl.cuda.planes=packed -Dfrl.cuda.bnLoads=batched -Dfrl.cuda.hfSums=exact -Dfrl.cuda.unfold=auto"
  NEW_PATHS+=" -Dfrl.cuda.actNormConv=fused -Dfrl.cuda.shiftedKernel=mma -Dfrl.cuda.sumBlocks=any"
fi
# NEW_DEFAULTS: switches that turn back paths made defaults without a GPU run (models times each model with each
# alone, beside its run by the defaults): the batched gradient copies.
NEW_DEFAULTS=${NEW_DEFAULTS--Dfrl.cuda.gradCopies=each}
# TIMED_PATHS: NEW_PATHS less the switches blame finds failing (quick sets it), for the runs that time them all together
# (a blamed switch could end such a run before its later rows)
TIMED_PATHS=$NEW_PATHS
NEW_PATH_TESTS="frl.backend.cuda.CudaSubPixelTest frl.backend.cuda.StepTimesTest frl.backend.cuda.CudaFrequencyTest"
NEW_PATH_TESTS+=" frl.backend.cuda.CudaNormTest frl.backend.cuda.CudaUnfoldTest frl.nn.ActNormInvConvTest"
NEW_PATH_TESTS+=" frl.backend.cuda.CudaShiftedConvTest frl.model.PixelCnnTest frl.backend.cuda.CudaReduceTest frl.backend.cuda.CudaFusedTest"
SECONDS=0
say() { echo "[$SECONDS s] $*" | tee -a "$log"; }
bash $run frl.cli.Main info >> "$log" 2>&1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv >> "$log" 2>&1
tests() {
  # -Dfrl.cuda.sync: a failing kernel is named where it fails, not at the next copy. The suite first with the paths
  # not yet run on a GPU off (their switches' defaults; a faulting kernel poisons its JVM's context), then their tests
  # with NEW_PATHS on, in a JVM of their own
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true" timeout ${TESTS_TIMEOUT:-300} bash $run junit --select-package frl \
      --include-tag gpu --details=tree --disable-ansi-colors > "$OUT/junit.txt" 2>&1
  say "junit (verified paths) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit.txt" | tr -s ' ' | paste -sd' ')"
  if [ -n "$NEW_PATHS" ] && [ -n "$NEW_PATH_TESTS" ]; then
    JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true $NEW_PATHS" timeout ${TESTS_TIMEOUT:-300} bash $run junit --include-tag gpu \
        $(for c in $NEW_PATH_TESTS; do echo --select-class $c; done) --details=tree --disable-ansi-colors >> "$OUT/junit-forced.txt" 2>&1
    say "junit (new paths' tests) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-forced.txt" | tail -4 | tr -s ' ' | paste -sd' ')"
  fi
  # each path behind FasterPath forced (the default, auto, takes either per shape), through the whole backend and model;
  # kernel-new: the kernels again with the paths written since the last GPU run (NEW_PATHS, not yet defaults)
  for path in kernel cudnn ${NEW_PATHS:+kernel-new unfold}; do
    # kernel and cudnn: the verified paths only (new ones at their defaults, off), dense forced likewise; kernel-new: NEW_PATHS;
    # unfold: every convolution that unfolds as unfolded GEMMs (in chunks where the rule splits), the other paths off
    extra="-Dfrl.cuda.dense=$path"; [ $path = kernel-new ] && path=kernel && extra="$NEW_PATHS -Dfrl.cuda.dense=kernel"
    [ $path = unfold ] && path=cudnn && extra="-Dfrl.cuda.unfold=kernel -Dfrl.cuda.splitK=on -Dfrl.cuda.dense=cudnn"
    JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true $extra -Dfrl.cuda.subpixel=$path -Dfrl.cuda.conv1x1=$path -Dfrl.cuda.shifted=$path" \
        timeout ${TESTS_TIMEOUT:-300} bash $run junit --select-class frl.backend.cuda.CudaBackendOpsTest \
        --select-class frl.model.VaeCudaParityTest --select-class frl.nn.ActNormInvConvTest --select-class frl.backend.cuda.CudaGraphTest --include-tag gpu \
        --details=tree --disable-ansi-colors >> "$OUT/junit-forced.txt" 2>&1
    say "junit ($path forced, $extra) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-forced.txt" | tail -4 | tr -s ' ' | paste -sd' ')"
  done
}
bench() {
  for cfg in cifar fmnist; do
    args=(--config $cfg --batch 64 --score-batch 256 --steps 30 --warmup 5 --repeats 3)
    prof=; [ $cfg = cifar ] && prof=--profile
    # cuDNN for every convolution, as before the hand-written paths were checked
    JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.subpixel=cudnn -Dfrl.cuda.conv1x1=cudnn -Dfrl.cuda.shifted=cudnn -Dfrl.cuda.dense=cudnn" timeout 240 bash $run \
        frl.cli.Main bench --device cuda "${args[@]}" -k 20 --no-graph $prof 2>> "$log" | grep '^{' >> "$res"
    say "engine bench $cfg (cudnn) exit $?"
    # the defaults: each hand-written path where it is faster (the VAE's last layer then in phases)
    timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --no-graph $prof 2>> "$log" | grep '^{' >> "$res"
    say "engine bench $cfg exit $?"
    # and the whole training step recorded as a CUDA graph: how much the launches and the host cost
    timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --graph 2>> "$log" | grep '^{' >> "$res"
    say "engine bench $cfg (--graph) exit $?"
    # and each scoring pass op by op (recording them, --score-graph, is the default since 2026-11-28)
    timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --graph --no-score-graph 2>> "$log" | grep '^{' >> "$res"
    say "engine bench $cfg (--graph --no-score-graph) exit $?"
    # the paths not yet defaults (NEW_PATHS, if any); then the sub-pixel GEMMs all in SGEMM (auto, the default,
    # takes 3xTF32 where faster), and the new paths' profile
    if [ -n "$NEW_PATHS" ]; then
      JAVA_OPTS="$JAVA_OPTS $NEW_PATHS" timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --graph \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $cfg ($NEW_PATHS, --graph) exit $?"
    fi
    JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.gemm=sgemm" timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --graph \
        2>> "$log" | grep '^{' >> "$res"
    say "engine bench $cfg (sgemm, --graph) exit $?"
    if [ -n "$prof" ] && [ -n "$NEW_PATHS" ]; then
      JAVA_OPTS="$JAVA_OPTS $NEW_PATHS" timeout 240 bash $run frl.cli.Main bench --device cuda "${args[@]}" -k 20 --no-graph $prof \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $cfg ($NEW_PATHS, $prof) exit $?"
    fi
    # with --profile (cifar): the twin's kernels per step, to set beside the engine's per-op profile
    timeout 240 python3 bench/pytorch/frl_vae.py bench --device cuda "${args[@]}" --k 20 --threads 16 $prof 2>> "$log" \
        | grep '^{' >> "$res"
    say "pytorch bench $cfg exit $?"
  done
}
# suite: the whole gpu-tagged suite by the defaults, nothing forced (on the H200, 2026-11-28: 112–157 s)
suite() {
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true" timeout ${TESTS_TIMEOUT:-300} bash $run junit --select-package frl --include-tag gpu \
      --details=tree --disable-ansi-colors > "$OUT/junit.txt" 2>&1
  say "junit (the whole suite, by the defaults) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit.txt" | tr -s ' ' | paste -sd' ')"
}
# parts: cuDNN on 3xTF32 parts (-Dfrl.cuda.cudnnMath, auto by default). The convolution tests and the three models'
# parity tests with every cuDNN call on parts (3xtf32 forced), then each model's training and scoring by the defaults
# and with cudnnMath=fma (as before the parts), beside its PyTorch twin; the VAE also with its scoring op by op
# (--no-score-graph). On the H200 (2026-11-28) the step took 120 s, the tests 32 s of it.
parts() {
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true -Dfrl.cuda.cudnnMath=3xtf32" timeout ${TESTS_TIMEOUT:-200} bash $run junit --include-tag gpu \
      $(for c in frl.backend.cuda.CudaConvTest frl.backend.cuda.CudaShiftedConvTest frl.model.PixelCnnTest frl.model.VaeCudaParityTest \
          frl.model.GlowCudaParityTest frl.backend.cuda.CudaGraphTest; do echo --select-class $c; done) \
      --details=tree --disable-ansi-colors >> "$OUT/junit-forced.txt" 2>&1
  say "junit (cudnnMath=3xtf32 forced) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-forced.txt" | tail -4 | tr -s ' ' | paste -sd' ')"
  local m common model k
  for m in pixelcnn glow vae; do
    case $m in
      pixelcnn) common=(--resnets 3 --filters 80 --mixtures 10 --batch 32 --score-batch 128 --steps 20 --warmup 3); model=(--model pixelcnn); k=1 ;;
      glow) common=(--hidden 256 --depth 16 --levels 3 --batch 64 --score-batch 256 --steps 20 --warmup 3); model=(--model glow); k=1 ;;
      vae) common=(--batch 64 --score-batch 256 --steps 30 --warmup 5); model=(); k=20 ;;
    esac
    common+=(--config cifar --repeats 3)
    if [ $m = vae ]; then
      timeout 120 bash $run frl.cli.Main bench --device cuda "${model[@]}" "${common[@]}" -k $k --graph --no-score-graph 2>> "$log" | grep '^{' >> "$res"
      say "engine bench vae (--graph --no-score-graph) exit $?"
    fi
    for opts in "" "-Dfrl.cuda.cudnnMath=fma"; do
      JAVA_OPTS="$JAVA_OPTS $opts" timeout 120 bash $run frl.cli.Main bench --device cuda "${model[@]}" "${common[@]}" -k $k --graph \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m (${opts:-defaults}, --graph) exit $?"
    done
    local twin=(); [ $m = pixelcnn ] || twin=(--k $k)
    timeout 120 python3 bench/pytorch/frl_$m.py bench --device cuda "${common[@]}" "${twin[@]}" --threads 16 2>> "$log" | grep '^{' >> "$res"
    say "pytorch bench $m exit $?"
  done
}
# Glow and PixelCNN++ at the anchors' configs (ANCHORS.md: Glow 4 channels, hidden 256, depth 16, levels 3, batch 64,
# scoring 256 images with one dequantisation each; PixelCNN++ resnets 3, filters 80, mixtures 10, batch 32, scoring 128)
# op by op with a device profile and as a CUDA graph (also with NEW_PATHS, less what blame found), each beside its
# PyTorch twin (on the H200, 2026-11-28, about 15 s for each graph run and each twin, without the profiles); then
# Likelihood Regret against FRL's score with the VAEs (frl bench --regret); requests of 64 images (--requests: as the
# library's Detector, which keeps its recorded passes, serves them): Glow and PixelCNN++ by the defaults and op by op,
# the VAEs by the defaults
models() {
  for m in glow pixelcnn; do
    if [ $m = glow ]; then
      shape=(--hidden 256 --depth 16 --levels 3); batches=(--batch 64 --score-batch 256)
    else
      shape=(--resnets 3 --filters 80 --mixtures 10); batches=(--batch 32 --score-batch 128)
    fi
    args=(--config cifar "${shape[@]}" "${batches[@]}" --steps 20 --warmup 3 --repeats 3)
    for g in "--no-graph --profile" --graph; do
      req=(); [ "$g" = --graph ] && req=(--requests 64)   # and requests of 64 images as a Detector serves them: a kept graph each
      timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 $g "${req[@]}" 2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m ($g) exit $?"
    done
    # the scoring passes op by op (recording them, --score-graph, is the default since 2026-11-28)
    timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 --graph --no-score-graph --requests 64 2>> "$log" | grep '^{' >> "$res"
    say "engine bench $m (--graph --no-score-graph) exit $?"
    # and with the switches not yet defaults that touch the model, each alone (the tensor-core shifted convolutions,
    # Glow's 4×4 channel sums by blocks, its actnorm and 1×1 in one op)
    for opt in $TIMED_PATHS; do
      case "$m $opt" in "pixelcnn -Dfrl.cuda.shiftedKernel="*|*" -Dfrl.cuda.sumBlocks="*|"glow -Dfrl.cuda.actNormConv="*) ;; *) continue ;; esac
      JAVA_OPTS="$JAVA_OPTS $opt" timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 --graph \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m ($opt alone, --graph) exit $?"
    done
    # PixelCNN++ with the paper's dropout as a CUDA graph (the masks come with each replay's noise; never yet on a GPU)
    if [ $m = pixelcnn ]; then
      timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 --graph --dropout 0.5 2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m (--dropout 0.5, --graph) exit $?"
    fi
    # and with each default not yet run on a GPU turned back
    for opt in $NEW_DEFAULTS; do
      JAVA_OPTS="$JAVA_OPTS $opt" timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 --graph \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m ($opt, a new default turned back, --graph) exit $?"
    done
    # and with all the switches not yet defaults (unfold=auto may take Glow's 256-channel 1×1s to 3xTF32 GEMMs)
    if [ -n "$TIMED_PATHS" ]; then
      JAVA_OPTS="$JAVA_OPTS $TIMED_PATHS" timeout 240 bash $run frl.cli.Main bench --device cuda --model $m "${args[@]}" -k 1 --graph \
          2>> "$log" | grep '^{' >> "$res"
      say "engine bench $m ($TIMED_PATHS, --graph) exit $?"
    fi
    extra=(); [ $m = glow ] && extra=(--k 1)
    timeout 240 python3 bench/pytorch/frl_$m.py bench --device cuda "${args[@]}" "${extra[@]}" --threads 16 2>> "$log" | grep '^{' >> "$res"
    say "pytorch bench $m exit $?"
  done
  # Likelihood Regret (100 Adam steps an image) against FRL's score over the same 256 random images, the VAE of each
  # config (fmnist: the science runs' model)
  for cfg in fmnist cifar; do
    timeout 240 bash $run frl.cli.Main bench --device cuda --config $cfg --steps 5 --warmup 2 --regret 256 --requests 64 2>> "$log" | grep '^{' >> "$res"
    say "engine bench vae $cfg (--regret 256 --requests 64) exit $?"
  done
}
kernels() {
  timeout 240 bash $run frl.cli.Main bench-kernels --device cuda 2>> "$log" >> "$res"
  say "kernel benches exit $?"
  [ -n "$NEW_PATHS" ] || return 0
  echo "{\"kernels_below_with\": \"$TIMED_PATHS\"}" >> "$res"
  JAVA_OPTS="$JAVA_OPTS $TIMED_PATHS" timeout 240 bash $run frl.cli.Main bench-kernels --device cuda 2>> "$log" >> "$res"
  say "kernel benches ($TIMED_PATHS) exit $?"
}
science() {
  s=/tmp/frl-science; mkdir -p $s
  for m in ${SCIENCE_MODELS:-frl plain}; do
    flag=; [ $m = plain ] && flag=--no-hf; [ $m = background ] && flag="--no-hf --perturb 0.2"
    rm -f $s/$m-vae.safetensors $s/train-$m.log   # a warm machine keeps /tmp: never return an older call's model
    timeout ${SCIENCE_TIMEOUT:-200} bash $run frl.cli.Main train --device cuda --data data/train-images-idx3-ubyte.gz $flag \
        --epochs 15 ${SCIENCE_FLAGS:-} --out $s/$m-vae.safetensors > $s/train-$m.log 2>&1
    say "train $m exit $?: $(tr '\r' '\n' < $s/train-$m.log | grep -v '^$' | tail -2 | paste -sd' ')"
    [ -f $s/$m-vae.safetensors ] && split -b 15m $s/$m-vae.safetensors "$OUT/$m-vae.part."
  done
}
quick() {
  [ -n "$NEW_PATHS" ] || { say "quick: NEW_PATHS is empty, nothing new to check"; return 0; }
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true $NEW_PATHS" timeout ${TESTS_TIMEOUT:-200} bash $run junit --include-tag gpu \
      $(for c in $NEW_PATH_TESTS frl.backend.cuda.CudaBackendOpsTest frl.model.VaeCudaParityTest frl.backend.cuda.CudaGraphTest; do echo --select-class $c; done) \
      --details=tree --disable-ansi-colors > "$OUT/junit-forced.txt" 2>&1
  local rc=$?
  say "junit (new paths on) exit $rc: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-forced.txt" | tr -s ' ' | paste -sd' ')"
  if [ $rc -ne 0 ]; then
    blame "$OUT/junit-forced.txt"
    TIMED_PATHS=$(python3 bench/gpu/summary.py --unblamed "$OUT" $NEW_PATHS)
    say "timed together from here on: ${TIMED_PATHS:-none}"
  fi
  # the whole model with every convolution that unfolds as unfolded GEMMs (the sub-pixel GEMMs and cuDNN out of the way)
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true -Dfrl.cuda.unfold=kernel -Dfrl.cuda.splitK=on -Dfrl.cuda.subpixel=cudnn -Dfrl.cuda.dense=cudnn" \
      timeout ${TESTS_TIMEOUT:-200} bash $run junit --include-tag gpu --select-class frl.model.VaeCudaParityTest --select-class frl.backend.cuda.CudaGraphTest \
      --details=tree --disable-ansi-colors >> "$OUT/junit-forced.txt" 2>&1
  say "junit (unfold forced) exit $?: $(grep -E 'tests (successful|failed|aborted|skipped)' "$OUT/junit-forced.txt" | tail -4 | tr -s ' ' | paste -sd' ')"
  cifar_graph "" defaults 120
  cifar_graph "$TIMED_PATHS" "${TIMED_PATHS:-defaults}" 120
  args=(--config cifar --batch 64 --score-batch 256 --steps 30 --warmup 5 --repeats 3)
  timeout 120 python3 bench/pytorch/frl_vae.py bench --device cuda "${args[@]}" --k 20 --threads 16 2>> "$log" | grep '^{' >> "$res"
  say "pytorch bench cifar exit $?"
  kernels
}
# cifar_graph OPTS LABEL [SECONDS]: the engine's cifar training and scoring, the step as a CUDA graph, with OPTS (90 s).
cifar_graph() {
  JAVA_OPTS="$JAVA_OPTS $1" timeout ${3:-90} bash $run frl.cli.Main bench --device cuda --config cifar --batch 64 --score-batch 256 \
      --steps 30 --warmup 5 --repeats 3 -k 20 --graph 2>> "$log" | grep '^{' >> "$res"
  say "engine bench cifar ($2, --graph) exit $?"
}
# After a failing run with all of NEW_PATHS on: which switches its failing tests (the methods, or classes, named in the
# report's Failures section) fail under, by halves of the switches down to single ones: log lines "blame: S fails", or
# "blame: fails only together: S..." where each half passes apart. Within BLAME_SECONDS (default 150; each rerun gets
# what is left, at least 30 s, so at most BLAME_SECONDS + 30 in all); a set it ran out of time on is logged and counts
# as blamed. summary.py keeps the blamed switches off and lets the others flip. Methods, not their classes: on the H200
# (2026-11-28) one failing method's class, CudaSubPixelTest, took over 120 s a run, and blame ran out of time at once.
blame() {
  BLAME_SEL= BLAME_END=$((SECONDS + ${BLAME_SECONDS:-150}))
  local c
  for c in $(sed -nE "s/.*MethodSource \[className = '([A-Za-z0-9_.\$]+)', methodName = '([A-Za-z0-9_\$]+)', methodParameterTypes = '([^']*)'.*/\1#\2(\3)/p" "$1" \
      | tr -d ' ' | sort -u); do
    BLAME_SEL+=" --select-method $c"
  done
  for c in $(sed -nE "s/.*ClassSource \[className = '([A-Za-z0-9_.\$]+)'.*/\1/p" "$1" | sort -u); do
    BLAME_SEL+=" --select-class ${c%%\$*}"
  done
  [ -n "$BLAME_SEL" ] || { say "blame: no failing test class named in $(basename "$1")"; return 0; }
  say "blame: rerunning$BLAME_SEL"
  blame_halves $NEW_PATHS
  return 0
}
# blame_halves S...: blame_set on each half of a failing set S; where both pass, S fails only together.
blame_halves() {
  local half=$(( $# / 2 )) a b
  blame_set "${@:1:half}"; a=$?
  blame_set "${@:half+1}"; b=$?
  [ $a -eq 0 ] && [ $b -eq 0 ] && say "blame: fails only together: $*"
}
# blame_set S...: 0 where the failing classes pass with S on (and the verified paths), else 1, after blaming S's halves.
blame_set() {
  [ $# -gt 0 ] || return 0
  local left=$((BLAME_END - SECONDS)) rc
  if [ $left -le 0 ]; then say "blame: out of time before $*"; return 1; fi
  JAVA_OPTS="$JAVA_OPTS -Dfrl.cuda.sync=true $*" timeout $((left > 30 ? left : 30)) bash $run junit --include-tag gpu $BLAME_SEL \
      --details=tree --disable-ansi-colors >> "$OUT/junit-forced.txt" 2>&1
  rc=$?
  [ $rc -eq 0 ] && return 0
  [ $rc -eq 124 ] && { say "blame: out of time before $*"; return 1; }
  [ $# -eq 1 ] && { say "blame: $1 fails"; return 1; }
  blame_halves "$@"
  return 1
}
# each switch of NEW_PATHS alone, cifar --graph (about 3 s each on the H200): which of them the gain or loss of
# NEW_PATHS together comes from, to flip each on its own evidence
each() {
  [ -n "$NEW_PATHS" ] || { say "each: NEW_PATHS is empty"; return 0; }
  for opt in $NEW_PATHS; do
    case $opt in -Dfrl.cuda.hfSums=*|-Dfrl.cuda.hf=*|-Dfrl.cuda.actNormConv=*|-Dfrl.cuda.shiftedKernel=*) continue ;; esac   # not the VAE's: bench-kernels and models time them
    cifar_graph "$opt" "$opt alone"
  done
  # and all of NEW_PATHS that blame left: the set the defaults would become if each pays
  cifar_graph "$TIMED_PATHS" "${TIMED_PATHS:-defaults}"
  # and the winners together: the switches whose tests passed and that were faster alone (summary.py --winners), the
  # set the defaults become; its row beside the twin's of this run is the README's anchor
  # (the winners' row is marked, so that one winner alone is not read as its own "alone" run)
  wins=$(python3 bench/gpu/summary.py --winners "$OUT")
  if [ -z "$wins" ]; then
    grep -q "junit (new paths" "$log" && say "each: no switch won alone" || say "each: no winners: the new paths' tests did not run in this call (quick runs them)"
    return 0
  fi
  echo "{\"winners_below\": \"$wins\"}" >> "$res"
  cifar_graph "$wins" "winners: $wins"
}
# hfprofile: Nsight Compute over the HF filter's streaming, warp and tile kernels (FrequencyBench, 65,536 gray 32×32
# images, k = 5, each kernel's warm-up and timed calls), per kernel: throughput against the SM's and memory's peaks,
# issue slots, warp stalls, pipes, occupancy, in ncu-hf.txt. The filter is at 45–49% of a copy where 70% is asked, and
# the kernels have not been profiled: where the time goes decides the next kernel. (The tile kernel, written without a
# GPU, is there on the guess that the others are bound by issuing instructions.)
hfprofile() {
  local ncu; ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | sort -V | tail -1)
  [ -n "$ncu" ] || { say "hfprofile: no ncu on this machine"; return 0; }
  timeout ${NCU_TIMEOUT:-180} "$ncu" --clock-control none --target-processes all -k 'regex:hf_(stream|warp|tile)' -c 44 \
      --section SpeedOfLight --section SchedulerStats --section WarpStateStats --section Occupancy \
      --section ComputeWorkloadAnalysis --section InstructionStats --print-summary per-kernel \
      bash $run frl.backend.cuda.FrequencyBench 65536 5 1 > "$OUT/ncu-hf.txt" 2>&1
  say "hfprofile exit $?: $(grep -c 'hf_' "$OUT/ncu-hf.txt") lines name an HF kernel in ncu-hf.txt"
}
# folder: `frl score` end to end as a batch user runs it, over the 10,000 FashionMNIST test images as a folder of PNGs
# (`frl data export`) and as the IDX file they came from (data/t10k-images-idx3-ubyte.gz, 4.4 MB: the JRE with
# java.desktop leaves no room for the training file), twice each in turn, with a VAE trained here for one epoch on 6,400
# of them: the folder's extra time is the decoding that the read-ahead is to hide behind the GPU's passes. Then the
# folder as one part (--read-chunk 10000: nothing read ahead; the parts of 4,096 keep their recorded passes from part
# to part). Each run's "wrote N scores ... (img/s)" line goes to the log. Reading PNGs needs java.desktop in the
# bundle's JRE (54 MiB with BUNDLE_SKIP=openblas, 2026-11-28):
# JRE_MODULES=java.base,jdk.unsupported,jdk.incubator.vector,java.logging,java.desktop ../shared/gpu/bundle.sh
folder() {
  local d=/tmp/frl-folder idx=data/t10k-images-idx3-ubyte.gz n=${FOLDER_IMAGES:-10000}
  rm -rf $d; mkdir -p $d
  bash $run frl.cli.Main data export $idx@$n --out $d/pngs >> "$log" 2>&1
  timeout 120 bash $run frl.cli.Main train --device cuda --data $idx --max-images 6400 --epochs 1 --out $d/vae.safetensors > $d/train.log 2>&1
  say "folder: train exit $?: $(tr '\r' '\n' < $d/train.log | grep -v '^$' | tail -1)"
  for data in $d/pngs $idx@$n $d/pngs $idx@$n "$d/pngs --read-chunk $n"; do
    timeout 120 bash $run frl.cli.Main score --device cuda --model $d/vae.safetensors --data $data --out $d/scores.csv > $d/score.log 2>&1
    say "folder: score $data exit $?: $(tail -1 $d/score.log)"
  done
}
for step in $steps; do
  case $step in
    tests|bench|kernels|science|quick|each|models|hfprofile|parts|suite|folder) $step ;;
    *) say "unknown step '$step' (expected tests, bench, kernels, science, quick, each, models, hfprofile, parts, suite or folder)" ;;
  esac
done
echo "== summary (${SECONDS}s) =="
grep -E "^(gpu|cuda|cublas|cudnn|cufft|tf32) " "$log"
grep -E "✘|\[X\]" "$OUT/junit.txt" "$OUT/junit-forced.txt" 2>/dev/null | head -40
cat "$res" 2>/dev/null
