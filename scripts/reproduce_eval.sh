#!/usr/bin/env bash
# Reproduces docs/evaluation.md: BEAT2 -> train/held-out split, training of the shipped Trimodal and
# diffusion models, ONNX export, and the evaluation table on the held-out slice.
#
#   scripts/reproduce_eval.sh            convert, train both models (~20 min on 2 CPU threads), export, evaluate
#   scripts/reproduce_eval.sh --shipped  convert and evaluate the weights shipped in src/gesture_core/weights
#   scripts/reproduce_eval.sh --ship     as the default, then copy the new checkpoints into src/gesture_core/weights
#
# Environment: PY (default .venv/bin/python), SHARED (default ../shared), OUT (default out).
# Everything is written under $OUT (ignored by git); the table is $OUT/eval/metrics.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
SHARED=${SHARED:-../shared}
OUT=${OUT:-out}
MODE=${1:-train}
NPZ=$SHARED/data/beat2_scott/2_scott_0_1_1.npz
WEIGHTS=src/gesture_core/weights

# 1. The only real paired data: 63.5 s of BEAT2 "scott"; the last 13.5 s are held out.
rm -rf "$OUT/beat2"
$PY -m gesture_core.data.beat2 "$NPZ" "$OUT/beat2/train" --speaker scott --end -13.5
$PY -m gesture_core.data.beat2 "$NPZ" "$OUT/beat2/heldout" --speaker scott --start -13.5

# 2. Training: every window offset (stride 1: 718 windows), batch 32; Trimodal 40 epochs on one CPU thread.
#    Audio-only: the BEAT2 clip comes without words here, so the text input is PAD throughout.
COMMON=(--data "$OUT/beat2/train" threads=1 seed=0 batch_size=32 stride=1 epochs=40 checkpoint_every=230 log_every=23)
TRIMODAL=(backend=trimodal model.hidden_size=128 model.n_layers=2 model.wordembed_dim=32)
# The diffusion model needs longer: 160 epochs (3680 steps) on two CPU threads (~11 min); later overrides win.
DIFFUSION=(backend=diffusion model.d_model=128 model.n_layers=3 model.n_heads=4 model.d_ff=256 model.word_dim=32
           threads=2 epochs=160 checkpoint_every=920 log_every=92)

train() {  # train NAME ARGS...: train into $OUT/train/NAME, export ONNX, print the final checkpoint
    local name=$1 backend=$2
    shift 2
    rm -rf "$OUT/train/$name"
    local ckpt
    ckpt=$($PY -m gesture_core.train.trainer --out "$OUT/train/$name" "${COMMON[@]}" "$@" | tail -n 1)
    $PY -m "gesture_core.models.$backend.export" "$ckpt" >&2
    echo "$ckpt"
}

if [ "$MODE" = "--shipped" ]; then
    TRI=$WEIGHTS/trimodal_beat2
    DIF=$WEIGHTS/diffusion_beat2
else
    TRI=$(train trimodal_beat2 trimodal "${TRIMODAL[@]}")
    DIF=$(train diffusion_beat2 diffusion "${DIFFUSION[@]}")
    if [ "$MODE" = "--ship" ]; then
        for pair in "$TRI:trimodal_beat2" "$DIF:diffusion_beat2"; do
            src=${pair%%:*}
            dst=$WEIGHTS/${pair##*:}
            rm -rf "$dst" && mkdir -p "$dst"
            cp "$src"/config.json "$src"/model.safetensors "$src"/vocab.json "$src"/*.onnx "$dst"/
            [ -f "$src/speakers.json" ] && cp "$src/speakers.json" "$dst/"
            chmod 644 "$dst"/*
        done
        TRI=$WEIGHTS/trimodal_beat2
        DIF=$WEIGHTS/diffusion_beat2
    fi
fi

# 3. Evaluation on the held-out 13.5 s: ground truth, procedural, Trimodal, diffusion.
$PY -m gesture_core.evaluation --data "$OUT/beat2/heldout" --out "$OUT/eval" \
    --backend procedural --backend "trimodal:$TRI" --backend "diffusion:$DIF" \
    --fgd-model "$SHARED/models/fgd_autoencoder_ted" --seeds 0 1 2 3 4
