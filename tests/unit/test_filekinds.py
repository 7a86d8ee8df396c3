import pytest

from tmr.artifacts.filekinds import classify
from tmr.artifacts.models import FileKind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("model.safetensors", FileKind.WEIGHTS),
        ("model-00001-of-00002.safetensors", FileKind.WEIGHTS),
        ("pytorch_model.bin", FileKind.WEIGHTS),
        ("onnx/model.onnx", FileKind.WEIGHTS),
        ("config.json", FileKind.CONFIG),
        ("generation_config.json", FileKind.CONFIG),
        ("tokenizer.json", FileKind.TOKENIZER),
        ("vocab.txt", FileKind.TOKENIZER),
        ("merges.txt", FileKind.TOKENIZER),
        ("README.md", FileKind.DOCS),
        ("LICENSE", FileKind.DOCS),
        ("train.py", FileKind.CODE),
        ("data/train.csv", FileKind.DATA),
        ("data/shard.bin", FileKind.DATA),
        (".gitattributes", FileKind.CONFIG),
        ("weird.xyz", FileKind.OTHER),
    ],
)
def test_classify(path: str, kind: FileKind) -> None:
    assert classify(path) is kind
