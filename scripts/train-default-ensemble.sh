#!/usr/bin/env bash
# Reproduces the bundled default ensemble (models/dsb2018-fluo) from the team's dsb2018-fluo copy:
# train split only, modes from the `acquisition` column, 3 folds per mode, seed 0, the CLI's default U-Net at
# 40 steps per epoch (twice the CLI's default: test Dice 0.914 against 0.905, object F1 0.813 against 0.812),
# with the CLI's default touch targets (3x3 gaps between touching nuclei, border weights 10,5), validated with
# tiles of at most 256 px (the CLI's default is now 512) and exported with tiles of at most 1024 px (a 2048 px image
# takes 9 windows of 704 px, 4.5 MP of member work, instead of 81 of 256 px, 5.3 MP; test scores within 0.004),
# then the paper's baselines (pooled single U-Nets over 3 seeds, a random 12-fold ensemble) and the report.
# Resumable: rerun after an interruption and finished models are skipped. With JOBS=2 (default) the models are
# split across two processes, one per core (TF.js WASM is single-threaded in Node); a last run exports and reports.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dsb2018-fluo}
OUT=${OUT:-models/dsb2018-fluo}
JOBS=${JOBS:-2}
ARGS=(--data "$DATA" --out "$OUT" --mode-column acquisition --folds 3 --seed 0 --tile 256 --export-tile 1024 --steps 40 --name dsb2018-fluo --version 1.6.0 --baselines)
mkdir -p .state
if [ "$JOBS" != 1 ]; then
  half() { # $1: log name, rest: the models this process trains
    local log=$1; shift
    npx quorum train "${ARGS[@]}" --members "$(IFS=,; echo "$*")" > ".state/train-default-$log.log" 2>&1
  }
  half a square256-f0 square256-f1 square256-f2 small-f0 small-f1 small-f2 &
  a=$!
  half b tall519-f0 tall519-f1 tall519-f2 wide512-f0 wide512-f1 wide512-f2 &
  b=$!
  wait $a $b
  half c pooled-s0 pooled-s1 pooled-s2 random-kfold/all-f{0..4} &
  a=$!
  half d random-kfold/all-f{5..11} &
  b=$!
  wait $a $b
fi
# Everything trained: this run finds it all done, exports the ensemble and writes the report with the baselines.
exec npx quorum train "${ARGS[@]}"
