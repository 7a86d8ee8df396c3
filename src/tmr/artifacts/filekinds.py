"""File kinds from Hugging Face layout conventions, so parts (weights, tokenizer, …) can be served."""

from __future__ import annotations

from pathlib import PurePosixPath

from tmr.artifacts.models import FileKind

_WEIGHT_SUFFIXES = {
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".h5",
    ".msgpack",
    ".onnx",
    ".gguf",
    ".ggml",
    ".tflite",
    ".pb",
    ".mlmodel",
    ".pkl",
    ".pickle",
    ".joblib",
    ".npz",
    ".ot",
    ".keras",
    ".model",
}
_TOKENIZER_NAMES = {
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
}
_CONFIG_SUFFIXES = {".json", ".yaml", ".yml", ".toml", ".cfg", ".ini"}
_DOC_SUFFIXES = {".md", ".rst", ".txt", ".pdf", ".html"}
_DOC_NAMES = {"license", "licence", "notice", "readme", "citation.cff", "authors", "copying"}
_CODE_SUFFIXES = {
    ".py",
    ".ipynb",
    ".js",
    ".ts",
    ".sh",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".hpp",
    ".cu",
    ".rs",
    ".go",
    ".java",
    ".scala",
    ".r",
    ".jl",
    ".lua",
    ".swift",
    ".kt",
    ".rb",
    ".pyx",
    ".m",
}
_DATA_SUFFIXES = {
    ".csv",
    ".tsv",
    ".jsonl",
    ".parquet",
    ".arrow",
    ".tfrecord",
    ".zip",
    ".gz",
    ".tar",
    ".xz",
    ".zst",
}


def classify(path: str) -> FileKind:
    """The kind of a file from its path (weights are re-checked by their bytes where read)."""
    p = PurePosixPath(path)
    name = p.name.lower()
    suffix = p.suffix.lower()
    if name in _TOKENIZER_NAMES or name.startswith("tokenizer"):
        return FileKind.TOKENIZER
    if name.endswith(".model") and "sentencepiece" in name:
        return FileKind.TOKENIZER
    if suffix in _WEIGHT_SUFFIXES or ".safetensors" in name or name.startswith("pytorch_model"):
        # A `.bin`/`.model` inside a data folder is data, not weights.
        if p.parts[:1] and p.parts[0].lower() in ("data", "dataset", "datasets"):
            return FileKind.DATA
        return FileKind.WEIGHTS
    if suffix in _CODE_SUFFIXES:
        return FileKind.CODE
    if suffix in _DATA_SUFFIXES:
        return FileKind.DATA
    if name in _DOC_NAMES or p.stem.lower() in _DOC_NAMES or suffix in _DOC_SUFFIXES:
        return FileKind.DOCS
    if suffix in _CONFIG_SUFFIXES or name in ("dockerfile", "makefile", ".gitattributes", ".gitignore"):
        return FileKind.CONFIG
    return FileKind.OTHER
