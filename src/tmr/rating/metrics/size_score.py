"""size_score: how well the model's weights fit the memory of four classes of device.

Which bytes: a repository often ships the same weights several times (model.safetensors beside
pytorch_model.bin, tf_model.h5, flax_model.msgpack, onnx/…). One deploys one format, so one is
counted, by preference: safetensors, PyTorch (.bin/.pt/.pth), Keras/TF, Flax, ONNX, TFLite,
GGUF/GGML, then anything else. Within that format:

* shards (`model-00001-of-00003.safetensors`, `consolidated.00.pth`) add up to one variant;
* variants side by side in one folder (fp16 beside fp32, GGUF quantisations) are alternatives: the
  smallest counts, as it is what one would deploy on a small device;
* folders add up (a diffusers pipeline needs its unet/, vae/ and text_encoder/);
* training state (optimizer, scheduler, RNG state, training_args) and `checkpoint-N/` folders are not
  the model, unless nothing else is there.

Budgets are the memory left for weights on a typical device, after the OS, the runtime and room for
activations: Raspberry Pi (4 GB board) 2 GiB, Jetson Nano (4 GB shared CPU/GPU) 2.5 GiB, desktop PC
(32 GB RAM or a 16 GB GPU) 16 GiB, AWS server (a large instance, 64 GiB+ of RAM) 64 GiB.

Curve: 1 while the weights take at most half the budget (comfortable), 0 from the full budget on
(does not fit), and a smoothstep between, so the score falls smoothly and monotonically.

No weights (or only zero-byte weights): 0 on every device — there is nothing to deploy and no
evidence that anything fits.
"""

from __future__ import annotations

import re
from collections import defaultdict

from tmr.rating.evidence import FileFact, ModelEvidence
from tmr.rating.metrics.common import file_name, path_parts

GIB = 1024**3
BUDGETS = {
    "raspberry_pi": 2 * GIB,
    "jetson_nano": int(2.5 * GIB),
    "desktop_pc": 16 * GIB,
    "aws_server": 64 * GIB,
}
COMFORT = 0.5  # share of the budget the weights may take and still score 1

FORMATS = (
    (".safetensors",),
    (".bin", ".pt", ".pth"),
    (".h5", ".keras", ".pb"),
    (".msgpack",),
    (".onnx",),
    (".tflite",),
    (".gguf", ".ggml"),
)
_SHARD = re.compile(r"[-_.]?\d{1,5}-of-\d{1,5}|(?<=^consolidated)\.\d{1,3}(?=\.)")
_TRAINING_STATE = re.compile(r"^(?:optimizer|scheduler|scaler|rng_state\w*|training_args|trainer_state)\.")
_CHECKPOINT_DIR = re.compile(r"^(?:checkpoint[-_]\d+|checkpoints?|runs)$")


def _format(name: str) -> int:
    for rank, suffixes in enumerate(FORMATS):
        if any(name.endswith(s) or f"{s}." in name for s in suffixes):
            return rank
    return len(FORMATS)


def deployable_bytes(files: tuple[FileFact, ...]) -> int:
    """Bytes of one deployable copy of the weights (see the module docstring)."""
    weights = [f for f in files if f.kind == "weights" and f.size > 0]
    model = [f for f in weights if not _TRAINING_STATE.match(file_name(f.path))]
    outside = [f for f in model if not any(_CHECKPOINT_DIR.match(p) for p in path_parts(f.path)[:-1])]
    chosen = outside or model or weights
    if not chosen:
        return 0
    best = min(_format(file_name(f.path)) for f in chosen)
    variants: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in chosen:
        if _format(file_name(f.path)) != best:
            continue
        folder = "/".join(path_parts(f.path)[:-1])
        variants[folder][_SHARD.sub("", file_name(f.path))] += f.size
    return sum(min(sizes.values()) for sizes in variants.values())


def fit(size: int, budget: int) -> float:
    """1 up to COMFORT x budget, 0 from the budget on, smoothstep between."""
    if size <= 0:
        return 0.0
    low = COMFORT * budget
    if size <= low:
        return 1.0
    if size >= budget:
        return 0.0
    t = (size - low) / (budget - low)
    return 1.0 - t * t * (3.0 - 2.0 * t)


def compute(evidence: ModelEvidence) -> dict[str, float]:
    size = deployable_bytes(evidence.files)
    return {device: fit(size, budget) for device, budget in BUDGETS.items()}
