"""ONNX files of local models, and ONNX Runtime sessions that run them.

An embedding model runs from the ONNX file its own repository publishes under ``onnx/``, where it
publishes one; otherwise from an export made on this machine and cached in the data folder. An export
is made once per model, weights, backend and exporter: one process at a time (a lock file), into a
folder beside its place that is renamed into it when complete, with the file's sha256 in a manifest.
A half-written or corrupt file is never served: it is exported again.
"""

import fcntl
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

# Bump when an export would differ for the same model (graph, opset, quantization): old ones go unused.
EXPORTER_VERSION = 1
# The files sentence-transformers models publish, best first, per backend.
PUBLISHED = {
    "onnx": ("onnx/model.onnx",),
    "onnx-int8": ("onnx/model_qint8_avx512_vnni.onnx", "onnx/model_qint8_avx2.onnx"),
}
MANIFEST = "export.json"

Export = Callable[[Path], None]  # writes model.onnx into the folder it is given


class ExportError(RuntimeError):
    """The model could not be exported to ONNX; the message says how to go on without it."""


def onnx_session(path: Path, threads: int = 0) -> "onnxruntime.InferenceSession":
    """An ONNX Runtime session of ``path`` on the CPU, computing on ``threads`` (0: one per core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def published_file(model: str, backend: str) -> Path | None:
    """The ONNX file ``model`` publishes for ``backend``: in its folder, or already in the Hugging
    Face Hub's cache (nothing is downloaded here); None if it publishes none."""
    folder = Path(model).expanduser()
    for name in PUBLISHED.get(backend, ()):
        if folder.is_dir():
            if (folder / name).is_file():
                return folder / name
            continue
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(model, name)
        if isinstance(cached, str):
            return Path(cached)
    return None


def export_key(model: str, weights_digest: str, backend: str) -> str:
    """What an export depends on: the model and its weights, the backend, the exporter and the
    versions of the libraries that write and read the file."""
    import onnxruntime
    import torch

    parts = [model, weights_digest, backend, str(EXPORTER_VERSION)]
    parts += [torch.__version__, onnxruntime.__version__]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cached_export(cache_dir: Path, model: str, key: str, backend: str, export: Export) -> Path:
    """The exported file for ``key``, exported by ``export`` if no valid one is cached."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model).name or model)[-60:]
    folder = cache_dir / f"{name}-{backend}-{key}"
    if _valid(folder):
        return folder / "model.onnx"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(folder.with_suffix(".lock")):
        if _valid(folder):  # another process exported it while this one waited
            return folder / "model.onnx"
        shutil.rmtree(folder, ignore_errors=True)  # corrupt or incomplete: never served
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        log.info("exporting %s to ONNX (%s), once, into %s", model, backend, folder)
        try:
            export(partial)
        except Exception as error:
            shutil.rmtree(partial, ignore_errors=True)
            raise ExportError(
                f"could not export {model} to ONNX ({type(error).__name__}: {error}); "
                "set RAG_EMBEDDING_BACKEND=torch to embed with PyTorch"
            ) from error
        manifest = {"model": model, "backend": backend, "sha256": _sha256(partial / "model.onnx")}
        (partial / MANIFEST).write_text(json.dumps(manifest))
        partial.rename(folder)
    return folder / "model.onnx"


def _valid(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return bool(manifest["sha256"] == _sha256(folder / "model.onnx"))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield
