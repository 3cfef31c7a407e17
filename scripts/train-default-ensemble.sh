#!/usr/bin/env bash
# Reproduces the bundled default ensemble (models/dsb2018-fluo) from the team's dsb2018-fluo copy:
# train split only, modes from the `acquisition` column, 3 folds per mode, seed 0, the CLI's default U-Net.
# Resumable: rerun after an interruption and finished members are skipped. With JOBS=2 (default) the members are
# split across two processes, one per core (TF.js WASM is single-threaded in Node); the last one to finish exports.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dsb2018-fluo}
OUT=${OUT:-models/dsb2018-fluo}
JOBS=${JOBS:-2}
ARGS=(--data "$DATA" --out "$OUT" --mode-column acquisition --folds 3 --seed 0 --name dsb2018-fluo --version 1.0.0)
mkdir -p .state
if [ "$JOBS" = 1 ]; then
  exec npx quorum train "${ARGS[@]}"
fi
npx quorum train "${ARGS[@]}" --members square256-f0,square256-f1,square256-f2,small-f0,small-f1,small-f2 > .state/train-default-a.log 2>&1 &
a=$!
npx quorum train "${ARGS[@]}" --members tall519-f0,tall519-f1,tall519-f2,wide512-f0,wide512-f1,wide512-f2 > .state/train-default-b.log 2>&1 &
b=$!
wait $a $b
# Both halves done: this run finds every member trained and exports the ensemble.
npx quorum train "${ARGS[@]}"
