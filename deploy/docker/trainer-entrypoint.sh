#!/bin/sh
# symae-train: entry point of the trainer image.
#
#   symae-train ARGS...           ARGS are those of `symae train` except --out
#   symae-train retrain ARGS...   `symae retrain ARGS --registry $SYMAE_MODEL_REGISTRY
#                                 --workdir $SYMAE_TRAIN_WORKDIR`: fine-tune on the archive,
#                                 publish only what the gate accepts (exit 3: refused)
#
# Without `retrain`:
# 1. trains on one GPU (`symae train`) or, when several are visible, on all of them with
#    `torchrun --standalone --nproc-per-node N -m symae.cli train` (data parallel);
# 2. exports the ONNX graphs (`symae export`);
# 3. publishes the model into the registry as <registry>/<name>/<version>/: it is copied
#    (and its checksums verified) into a staging folder on the registry volume, then
#    renamed into place, so the inference service never sees a half-written version.
#
# Environment:
#   SYMAE_MODEL_REGISTRY   registry root (default /models)
#   SYMAE_TRAIN_NPROC      processes (one per GPU); default: CUDA devices torch sees, >= 1
#   SYMAE_TRAIN_WORKDIR    folder of the model being trained and its checkpoint (default
#                          /work/run); keep it on a volume to continue with --resume
set -eu

registry="${SYMAE_MODEL_REGISTRY:-/models}"
workdir="${SYMAE_TRAIN_WORKDIR:-/work/run}"
nproc="${SYMAE_TRAIN_NPROC:-$(python -c 'import torch; print(max(1, torch.cuda.device_count()))')}"
case "$nproc" in
  ''|*[!0-9]*|0) echo "symae-train: SYMAE_TRAIN_NPROC must be a positive integer, got '$nproc'" >&2; exit 2 ;;
esac

if [ "${1:-}" = "retrain" ]; then
  shift
  mkdir -p "$workdir" "$registry"
  echo "symae-train: symae retrain (gated), registry $registry"
  exec symae retrain "$@" --registry "$registry" --workdir "$workdir"
fi

model_dir="$workdir/model"
case " $* " in
  *" --resume "*) ;;             # continue the checkpoint in $model_dir (a persistent workdir)
  *) rm -rf "$model_dir" ;;
esac
mkdir -p "$workdir" "$registry"

if [ "$nproc" -gt 1 ]; then
  echo "symae-train: torchrun on $nproc processes"
  torchrun --standalone --nproc-per-node="$nproc" -m symae.cli train "$@" --out "$model_dir"
else
  echo "symae-train: one process"
  symae train "$@" --out "$model_dir"
fi
if [ ! -f "$model_dir/model.json" ]; then
  echo "symae-train: training stopped before the model was complete (no $model_dir/model.json);" \
       "nothing is published. Rerun with --resume on the same SYMAE_TRAIN_WORKDIR to continue." >&2
  exit 1
fi
symae export "$model_dir"

staging="$registry/.staging-$(hostname)-$$"
trap 'rm -rf "$staging"' EXIT
target=$(python - "$model_dir" "$staging" "$registry" <<'PY'
import sys
from pathlib import Path

from symae.artifacts.store import read_model_dir, register

model_dir, staging, registry = sys.argv[1:]
info = read_model_dir(model_dir)
final = Path(registry) / info.name / info.version
if final.exists():
    sys.exit(f"symae-train: {final} already exists; the registry never overwrites a version")
register(model_dir, registry=Path(staging))
print(final)
PY
)
name_dir=$(dirname "$target")
mkdir -p "$name_dir"
mv "$staging/$(basename "$name_dir")/$(basename "$target")" "$target"
echo "symae-train: published $target"
