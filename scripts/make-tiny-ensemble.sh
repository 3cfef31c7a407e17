#!/usr/bin/env bash
# Regenerates test/fixtures/tiny-ensemble: a deliberately tiny 4-member ensemble (2 modes x 2 folds, depth-2
# base-4 U-Net, a few steps) trained on the bundled samples, so browser, edge and end-to-end tests have a real
# exported ensemble without training one. Its quality is irrelevant; its format and numbers are real.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=test/fixtures/tiny-ensemble
WORK=$(mktemp -d)
rm -rf "$OUT"
npx quorum train --data data/samples/dsb2018-fluo --out "$WORK/ens" --mode-column acquisition --folds 2 \
  --depth 2 --base-filters 4 --patch 64 --batch 2 --epochs 3 --steps 4 --tile 128 --halo 8 \
  --seed 1 --backend wasm --quantize uint8 --name tiny-test --version 0.0.1
mkdir -p "$OUT"
cp -r "$WORK/ens/ensemble.json" "$WORK/ens/members" "$OUT/"
rm -rf "$WORK"
