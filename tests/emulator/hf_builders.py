"""Builders that turn a few lines of data into a Hub fixture repository (model or dataset)."""

from __future__ import annotations

from typing import Any

from tests.emulator.blobs import Blob, InlineBlob
from tests.emulator.content import GITATTRIBUTES, card, json_bytes, small_weights
from tests.emulator.repos import HfRepo

_DEFAULT: Any = object()


def _blob(value: bytes | Blob) -> Blob:
    return InlineBlob(value) if isinstance(value, bytes) else value


def hf_model(
    repo_id: str,
    *,
    meta: dict[str, Any] | None = None,
    body: str | None = None,
    readme: bytes | None = _DEFAULT,
    config: dict[str, Any] | None = None,
    weights: Blob | None = _DEFAULT,
    files: dict[str, bytes | Blob] | None = None,
    **kwargs: Any,
) -> HfRepo:
    """Build a model repo: .gitattributes, README.md from meta/body, config.json, model.safetensors."""
    out: dict[str, Blob] = {".gitattributes": InlineBlob(GITATTRIBUTES)}
    if readme is _DEFAULT:
        readme = card(meta, body or f"# {repo_id.split('/')[1]}\n\nModel card for {repo_id}.")
    if readme is not None:
        out["README.md"] = InlineBlob(readme)
    if config is not None:
        out["config.json"] = InlineBlob(json_bytes(config))
    if weights is _DEFAULT:
        weights = small_weights(repo_id)
    if weights is not None:
        out["model.safetensors"] = weights
    out.update({path: _blob(value) for path, value in (files or {}).items()})
    return HfRepo(repo_id=repo_id, files=out, **kwargs)


def hf_dataset(
    repo_id: str,
    *,
    meta: dict[str, Any] | None = None,
    body: str | None = None,
    files: dict[str, bytes | Blob] | None = None,
    **kwargs: Any,
) -> HfRepo:
    """Build a dataset repo: .gitattributes, README.md (when meta/body given) and data files."""
    out: dict[str, Blob] = {".gitattributes": InlineBlob(GITATTRIBUTES)}
    if meta is not None or body is not None:
        out["README.md"] = InlineBlob(card(meta, body or f"# {repo_id}\n\nDataset card for {repo_id}."))
    out.update({path: _blob(value) for path, value in (files or {}).items()})
    return HfRepo(repo_id=repo_id, files=out, repo_type="dataset", **kwargs)


def cfg(arch: str, model_type: str, **extra: Any) -> dict[str, Any]:
    return {"architectures": [arch], "model_type": model_type, "torch_dtype": "float32", **extra}
