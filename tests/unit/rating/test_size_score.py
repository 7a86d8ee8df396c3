import itertools

import pytest

from tests.unit.rating.fixtures import GB, MB, bare_model, good_model, weights
from tmr.rating.evidence import FileFact
from tmr.rating.metrics import size_score
from tmr.rating.metrics.size_score import GIB, deployable_bytes

DEVICES = ("raspberry_pi", "jetson_nano", "desktop_pc", "aws_server")


def sized(total: int) -> dict[str, float]:
    return size_score.compute(bare_model(files=weights(("model.safetensors", total))))


def test_exactly_four_devices_in_range() -> None:
    for evidence in (good_model(), bare_model()):
        scores = size_score.compute(evidence)
        assert tuple(scores) == DEVICES
        assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_small_model_beats_no_weights_on_every_device() -> None:
    good, bare = size_score.compute(good_model()), size_score.compute(bare_model())
    assert all(good[d] > bare[d] for d in DEVICES)
    assert bare == dict.fromkeys(DEVICES, 0.0)


def test_bigger_weights_score_lower_on_the_pi() -> None:
    pi = [
        sized(s)["raspberry_pi"] for s in (100 * MB, int(1.2 * GIB), int(1.5 * GIB), int(1.8 * GIB), 3 * GIB)
    ]
    assert pi == sorted(pi, reverse=True)
    assert pi[0] == 1.0
    assert pi[-1] == 0.0
    assert len(set(pi)) == 5


def test_bigger_devices_fit_more() -> None:
    for size in (500 * MB, 2 * GIB, 10 * GIB, 40 * GIB, 200 * GIB):
        scores = sized(size)
        values = [scores[d] for d in DEVICES]
        assert values == sorted(values)


def test_a_7b_model_fits_only_the_server() -> None:
    scores = sized(14 * GB)
    assert scores["raspberry_pi"] == scores["jetson_nano"] == 0.0
    assert 0.0 < scores["desktop_pc"] < 1.0
    assert scores["aws_server"] == 1.0


def test_curve_is_smooth_and_monotonic() -> None:
    budget = size_score.BUDGETS["desktop_pc"]
    values = [size_score.fit(int(budget * k / 100), budget) for k in range(1, 120)]
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert max(abs(a - b) for a, b in itertools.pairwise(values)) < 0.05
    assert size_score.fit(0, budget) == 0.0


def test_zero_size_weights_are_no_evidence() -> None:
    assert size_score.compute(bare_model(files=weights(("model.safetensors", 0)))) == dict.fromkeys(
        DEVICES, 0.0
    )


def test_several_formats_are_counted_once() -> None:
    files = weights(
        ("model.safetensors", 400 * MB),
        ("pytorch_model.bin", 410 * MB),
        ("tf_model.h5", 500 * MB),
        ("flax_model.msgpack", 420 * MB),
        ("onnx/model.onnx", 430 * MB),
    )
    assert deployable_bytes(files) == 400 * MB
    assert deployable_bytes(files[1:]) == 410 * MB  # no safetensors: PyTorch next
    assert deployable_bytes(files[2:]) == 500 * MB


def test_shards_add_up_and_index_files_are_not_weights() -> None:
    files = (
        *weights(*((f"model-0000{i}-of-00003.safetensors", 5 * GB) for i in (1, 2, 3))),
        FileFact("model.safetensors.index.json", 30_000, "config"),
        *weights(*((f"pytorch_model-0000{i}-of-00003.bin", 5 * GB) for i in (1, 2, 3))),
    )
    assert deployable_bytes(files) == 15 * GB
    assert (
        deployable_bytes(weights(("consolidated.00.pth", 7 * GB), ("consolidated.01.pth", 7 * GB))) == 14 * GB
    )


def test_variants_in_one_folder_are_alternatives_and_folders_add_up() -> None:
    gguf = weights(("model-q4_k_m.gguf", 4 * GB), ("model-q8_0.gguf", 7 * GB), ("model-f16.gguf", 14 * GB))
    assert deployable_bytes(gguf) == 4 * GB
    diffusers = weights(
        ("unet/diffusion_pytorch_model.safetensors", 3 * GB),
        ("unet/diffusion_pytorch_model.fp16.safetensors", int(1.5 * GB)),
        ("vae/diffusion_pytorch_model.safetensors", 300 * MB),
        ("text_encoder/model.safetensors", 500 * MB),
    )
    assert deployable_bytes(diffusers) == int(1.5 * GB) + 300 * MB + 500 * MB


def test_training_state_and_checkpoints_are_not_the_model() -> None:
    files = weights(
        ("model.safetensors", 1 * GB),
        ("training_args.bin", 5_000),
        ("checkpoint-500/model.safetensors", 1 * GB),
        ("checkpoint-500/optimizer.pt", 2 * GB),
    )
    assert deployable_bytes(files) == 1 * GB
    # Only a checkpoint folder: it is the model then.
    assert deployable_bytes(files[2:]) == 1 * GB
    assert deployable_bytes(weights(("training_args.bin", 5_000))) == 5_000


@pytest.mark.parametrize("kind", ["config", "tokenizer", "data", "docs"])
def test_only_weights_count(kind: str) -> None:
    assert deployable_bytes((FileFact("big.bin", 10 * GB, kind),)) == 0
