#!/usr/bin/env bash
# The GPU checks in one go (the time limits add up to under 10 minutes on one GPU): the card
# and versions, the `gpu` tests, the LSTM benchmark, and 300 steps of PTB-small NAN eager, with
# torch.compile, with CUDA graphs and with both, and of the cuDNN reference. Everything goes
# under one folder, with summary.txt listing the card, each command, its exit status and wall
# time.
#
#   scripts/gpu_check.sh [OUT]      OUT: default results/bench/gpu-YYYYMMDD
#   DATA_DIR=dir                    PTB under dir/ptb (default ../shared/data)
#   PYTHON=python                   default .venv/bin/python
#
# A failing step does not stop the others; the script exits 1 if any failed or timed out.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/results/bench/gpu-$(date +%Y%m%d)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"
DATA_DIR="$(cd "${DATA_DIR:-../shared/data}" && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
# deterministic cuBLAS from the first matmul on (the trainer sets it too, but only once it runs)
export CUBLAS_WORKSPACE_CONFIG="${CUBLAS_WORKSPACE_CONFIG:-:4096:8}"
STEPS="$OUT/steps.txt"
: >"$STEPS"
failed=0

# run_step FILE LIMIT_S COMMAND...: stdout to $OUT/FILE, stderr to $OUT/FILE.err, one line in
# steps.txt (exit status, wall seconds, the command as typed); 124 = timed out
run_step() {
    local file=$1 limit=$2 start rc=0
    shift 2
    echo "== $file: $*"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$file" 2>"$OUT/$file.err" || rc=$?
    printf '%-28s rc=%-4s %5ss  %s\n' "$file" "$rc" "$(($(date +%s) - start))" \
        "$(printf '%q ' "$@")" >>"$STEPS"
    if [ "$rc" -ne 0 ]; then
        failed=1
        tail -n 5 "$OUT/$file.err" || true
    fi
}

ptb_run() {  # ptb_run NAME LIMIT_S COMPILE GRAPHS [EXPERIMENT]: 300 steps in $OUT/NAME
    rm -rf "${OUT:?}/$1"  # this script's own run folder from an earlier try
    # no test pass: one stream over the test split is host-bound on a GPU (minutes, eager)
    run_step "$1.log" "$2" "$PY" -m noisyexp train "experiment=${5:-ptb_small_nan}" \
        trainer.max_steps=300 trainer.max_epochs=null trainer.eval_every=300 trainer.eval_test=false \
        trainer.device=cuda "trainer.compile=$3" "trainer.cuda_graphs=$4" trainer.progress=false \
        "paths.data_dir=$DATA_DIR" paths.download=false "hydra.run.dir=$OUT/$1"
}

run_step nvidia-smi.txt 20 nvidia-smi
run_step versions.json 30 "$PY" -c 'import json, torch; from noisyexp.training.device import device_info;
print(json.dumps(device_info(torch.device("cuda"))))'  # GPU, sm, torch, CUDA, cuDNN
run_step pytest-gpu.txt 170 "$PY" -m pytest -m gpu -q -p no:cacheprovider tests
run_step bench_lstm.json 110 "$PY" scripts/bench_lstm.py --device cuda --medium --char-gru --json
# the limits add up to under 10 minutes; the second compiled run reuses Inductor's cache
ptb_run ptb_small_nan-compile 90 true false
ptb_run ptb_small_nan-eager 45 false false
ptb_run ptb_small_nan-graphs 45 false true
ptb_run ptb_small_nan-compile-graphs 60 true true
ptb_run ptb_small_reference-cudnn 25 false false ptb_small_reference

{
    echo "GPU check $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
        2>/dev/null | head -n 1 || echo unknown)"
    echo "versions: $(cat "$OUT/versions.json")"
    echo
    echo "steps (exit status, wall time, command):"
    cat "$STEPS"
    echo
    echo "pytest -m gpu: $(tail -n 1 "$OUT/pytest-gpu.txt" 2>/dev/null || echo 'no output')"
    "$PY" - "$OUT" <<'EOF' || true
import json, pathlib, sys

for path in sorted(pathlib.Path(sys.argv[1]).glob("ptb_small_*/summary.json")):
    s = json.loads(path.read_text())
    final = ", ".join(f"{k} {v:.4g}" for k, v in {**s["final"], **s["test"]}.items())
    graphs = s.get("cuda_graphs")
    graphs = f"; graphs {graphs}" if graphs else ""
    print(f"{path.parent.name}: {s['status']}, {s['steps']} steps in {s['wall_time_s']:.0f} s; {final}{graphs}")
EOF
} >"$OUT/summary.txt"
cat "$OUT/summary.txt"
exit "$failed"
