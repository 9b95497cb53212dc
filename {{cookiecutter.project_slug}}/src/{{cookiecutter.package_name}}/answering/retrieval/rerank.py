"""Reranking: a cross-encoder reads the question together with each candidate passage and scores
how well the passage answers it. Slower than comparing vectors, so it only reorders the first
candidates of the fused lists. Whether it helps depends on the documents and the questions: on the
PostgreSQL manual's, ms-marco-MiniLM-L12-v2 ranked worse than hybrid search (hence off by default).

The model runs with ONNX Runtime from an ONNX export (the sentence-transformers cross-encoders on
the Hugging Face Hub carry one under ``onnx/``): no PyTorch needed, and quantized exports run fast on
a CPU.
"""

import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from llama_index.core.schema import MetadataMode, NodeWithScore

from ...index.embeddings import model_threads
from ...index.onnx_models import onnx_session

log = logging.getLogger(__name__)

MAX_TOKENS = 512  # what BERT-sized cross-encoders read: question and passage together
BATCH = 16  # pairs per model call: bounds memory, and longer batches gain nothing on a CPU


def model_files(model: str, onnx_file: str) -> tuple[Path, Path]:
    """The ONNX model and ``tokenizer.json`` of ``model``: a local directory (holding ``onnx_file``,
    or a ``model.onnx`` beside the tokenizer), else a Hugging Face Hub repository, downloaded once
    into the Hub's cache."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        onnx = next((p for p in (folder / onnx_file, folder / "model.onnx") if p.is_file()), None)
        tokenizer = folder / "tokenizer.json"
        if onnx is None or not tokenizer.is_file():
            raise FileNotFoundError(
                f"{folder} needs {onnx_file} (or model.onnx) and tokenizer.json for reranking"
            )
        return onnx, tokenizer
    from huggingface_hub import hf_hub_download  # comes with tokenizers

    try:
        return Path(hf_hub_download(model, onnx_file)), Path(
            hf_hub_download(model, "tokenizer.json")
        )
    except Exception as error:  # offline, a wrong name, a missing export: say what to do
        raise RuntimeError(
            f"could not get the reranking model {model} ({onnx_file}) from the Hugging Face Hub: "
            f"{type(error).__name__}. Set RAG_RERANK_MODEL to a local folder with model.onnx and "
            "tokenizer.json, or RAG_RERANK=false."
        ) from error


class CrossEncoder:
    """Scores (question, passage) pairs with an ONNX cross-encoder; higher is more relevant."""

    def __init__(self, model: str, onnx_file: str, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        onnx, tokenizer = model_files(model, onnx_file)
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        # Some exports pad every input to the longest length the model reads: pad per batch instead.
        self._tokenizer.enable_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
        self._session = onnx_session(onnx, threads)
        self._inputs = {i.name for i in self._session.get_inputs()}

    @property
    def threads(self) -> int:
        """The threads ONNX Runtime computes on (0: one per core)."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def scores(self, question: str, passages: Sequence[str]) -> list[float]:
        """One relevance probability (0 to 1) per passage."""
        logits: list[float] = []
        for start in range(0, len(passages), BATCH):
            pairs = [(question, passage) for passage in passages[start : start + BATCH]]
            encodings = self._tokenizer.encode_batch(pairs)
            features = {
                "input_ids": [e.ids for e in encodings],
                "attention_mask": [e.attention_mask for e in encodings],
                "token_type_ids": [e.type_ids for e in encodings],
            }
            feed = {
                k: np.asarray(v, dtype=np.int64) for k, v in features.items() if k in self._inputs
            }
            output = self._session.run(None, feed)[0]  # logits: one row per pair
            logits.extend(float(row[-1]) for row in output.reshape(len(pairs), -1))
        return [1 / (1 + math.exp(-x)) for x in logits]


def passage_text(hit: NodeWithScore) -> str:
    """A chunk as the embedder saw it: its page title and section, then its text."""
    return hit.node.get_content(metadata_mode=MetadataMode.EMBED)


class Reranker:
    """Reorders the first ``candidates`` hits by a cross-encoder's scores; the model is loaded on
    first use (once per process, by one thread)."""

    def __init__(self, model: str, onnx_file: str, candidates: int) -> None:
        self.model = model
        self.onnx_file = onnx_file
        self.candidates = candidates
        self._encoder: CrossEncoder | None = None
        self._loading = threading.Lock()

    def encoder(self) -> CrossEncoder:
        with self._loading:
            if self._encoder is None:
                log.info("loading the reranking model %s", self.model)
                # As many threads as the embedding model: the UI gives each one thread, so that
                # concurrent visitors' questions do not each spin every core.
                self._encoder = CrossEncoder(self.model, self.onnx_file, model_threads())
            return self._encoder

    def rerank(self, question: str, hits: Sequence[NodeWithScore]) -> list[NodeWithScore]:
        """The first ``candidates`` of ``hits`` by relevance to ``question`` (scored 0 to 1), then
        the rest in their order, scored below them."""
        head, tail = list(hits[: self.candidates]), list(hits[self.candidates :])
        if not head:
            return []
        scores = self.encoder().scores(question, [passage_text(hit) for hit in head])
        order = sorted(range(len(head)), key=lambda i: scores[i], reverse=True)
        reranked = [NodeWithScore(node=head[i].node, score=scores[i]) for i in order]
        return reranked + [NodeWithScore(node=hit.node, score=0.0) for hit in tail]
