"""A sentence-transformers model on this machine, embedding the questions of concurrent visitors
together.

On a CPU one model call for 8 short questions takes about twice as long as a call for one (23 ms
against 12 ms for all-MiniLM-L6-v2 on 2 cores), and concurrent single calls fight over the same
cores. So questions wait in a queue that one worker thread empties a batch at a time: a lone
question is embedded at once, and under load each call takes every question that arrived meanwhile.
"""

import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from io import BytesIO
from pathlib import Path
from typing import Any, Generic, TypeVar

from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from pydantic import PrivateAttr

Item = TypeVar("Item")
Result = TypeVar("Result")
MOST = 32  # questions per model call; more only lengthen the wait of the first


class Batcher(Generic[Item, Result]):
    """Runs ``work`` on batches of the items that concurrent callers hand in, in one worker thread."""

    def __init__(self, work: Callable[[list[Item]], Sequence[Result]], most: int = MOST) -> None:
        self._work = work
        self._most = most
        self._starting = threading.Lock()
        self._pid: int | None = None  # the process the worker runs in: a fork has no worker
        self._pending: queue.SimpleQueue[tuple[Item, Future[Result]]] = queue.SimpleQueue()

    def __call__(self, item: Item) -> Result:
        """``work``'s result for ``item``, or the error ``work`` raised for its batch."""
        future: Future[Result] = Future()
        self._ensure_worker()
        self._pending.put((item, future))
        return future.result()

    def _ensure_worker(self) -> None:
        if self._pid == os.getpid():  # the worker runs: no lock on the way of every call
            return
        with self._starting:
            if self._pid != os.getpid():
                self._pending = queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(self._pending,), daemon=True).start()
                self._pid = os.getpid()  # last: callers that see it find the new queue

    def _serve(self, pending: "queue.SimpleQueue[tuple[Item, Future[Result]]]") -> None:
        while True:
            batch = [pending.get()]
            while len(batch) < self._most:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self._work([item for item, _ in batch])
            except BaseException as error:  # every caller of the batch hears of it
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)


class LocalEmbedding(HuggingFaceEmbedding):
    """LlamaIndex's sentence-transformers embedding, with query embeddings batched across threads;
    the transformer runs on PyTorch, or on ONNX Runtime (``backend`` onnx or onnx-int8, from a file
    the model publishes or an export cached in ``onnx_cache``) with ``threads`` intra-op threads."""

    _queries: Batcher[str, list[float]] = PrivateAttr()
    _onnx_file: Path | None = PrivateAttr(default=None)

    def __init__(
        self,
        backend: str = "torch",
        onnx_cache: Path | None = None,
        threads: int = 0,
        **kwargs: Any,
    ) -> None:
        if backend != "torch" and onnx_cache is None:  # refused before the model loads
            raise ValueError(f"the {backend} backend needs onnx_cache, the folder of exports")
        super().__init__(**kwargs)
        self._queries = Batcher(self._embed_questions)
        if backend != "torch" and onnx_cache is not None:
            from .onnx_embedding import use_onnx

            self._onnx_file = use_onnx(self._model, backend, onnx_cache, threads)

    @property
    def onnx_file(self) -> Path | None:
        """The ONNX file the transformer runs; None on PyTorch."""
        return self._onnx_file

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._queries(query)

    def _embed_questions(self, questions: list[str]) -> list[list[float]]:
        inputs: list[str | BytesIO] = list(questions)
        return self._embed(inputs, prompt_name="query")
