{%- if cookiecutter.embeddings == "local" -%}
"""The embedding model: sentence-transformers on this machine, loaded once per process."""
{%- else -%}
"""The embedding model: OpenAI's embeddings API, batched, with retries and backoff on 429 and 5xx."""
{%- endif %}

from collections.abc import Callable, Sequence
from functools import lru_cache
{%- if cookiecutter.embeddings == "local" %}
from pathlib import Path
from typing import TYPE_CHECKING
{%- endif %}

from llama_index.core.base.embeddings.base import BaseEmbedding

from ..config import Settings
{%- if cookiecutter.embeddings == "local" %}

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase
{%- endif %}

Tokenize = Callable[[str], Sequence[object]]


def embedding_model(settings: Settings) -> BaseEmbedding:
{%- if cookiecutter.embeddings == "local" %}
    return _load(
        settings.embedding_model,
        settings.embedding_device,
        settings.embed_batch_size,
        settings.embedding_backend,
        settings.embedding_onnx_dir,
        _model_threads,  # a model loaded before use_model_threads keeps its threads: load anew
    )
{%- else %}
    key = settings.openai_api_key
    if key is None and settings.embedding_base_url is None:
        raise RuntimeError(
            "embeddings=openai needs OPENAI_API_KEY (or RAG_OPENAI_API_KEY), or an OpenAI-compatible "
            "embeddings server in RAG_EMBEDDING_BASE_URL"
        )
    # Only OpenAI's text-embedding-3 models take a size; other servers refuse the parameter.
    shorten = settings.embedding_model.startswith("text-embedding-3")
    return _load(
        settings.embedding_model,
        settings.embedding_dimensions if shorten else None,
        settings.embed_batch_size,
        key.get_secret_value() if key else "not-needed",
        settings.embedding_base_url,
    )
{%- endif %}


def embedding_of_version(settings: Settings, model: str | None, pipeline: str | None) -> Settings:
    """``settings`` embedding questions as an index version's vectors were made: with its ``model``
{%- if cookiecutter.embeddings == "local" %} and the backend its ``pipeline`` names{% endif %} (the configured ones
    for a version that holds nothing yet)."""
    update: dict[str, str] = {"embedding_model": model} if model else {}
{%- if cookiecutter.embeddings == "local" %}
    if pipeline:
        update["embedding_backend"] = backend_of(pipeline)
{%- endif %}
    return settings.model_copy(update=update)
{%- if cookiecutter.embeddings == "local" %}


def backend_of(pipeline: str) -> str:
    """The embedding backend named in a pipeline tag (see planning.pipeline_of)."""
    _, tag, backend = pipeline.rpartition("/backend-")
    return backend if tag else "torch"
{%- endif %}


_model_threads = 0  # 0: each runtime's own choice, one thread per core


def use_model_threads(threads: int) -> None:
    """The CPU threads that this process's models compute on:
{%- if cookiecutter.embeddings == "local" %} the embedding model now,{% endif %} a reranking
    model when it loads (see ``model_threads``)."""
    global _model_threads
    _model_threads = threads
{%- if cookiecutter.embeddings == "local" %}
    import torch

    torch.set_num_threads(threads)
{%- endif %}


def model_threads() -> int:
    """What ``use_model_threads`` set; 0 when it was not called."""
    return _model_threads


{%- if cookiecutter.embeddings == "local" %}


def model_tokens(settings: Settings) -> tuple[Tokenize, int]:
    """The model's own tokenizer (special tokens left out) and how many tokens of text it reads:
    chunks are sized in these, so that no tail of a chunk goes unembedded."""
    model = embedding_model(settings)
    tokenizer = _tokenizer(settings.embedding_model)
    limit = model.max_length - tokenizer.num_special_tokens_to_add()  # type: ignore[attr-defined]
    return lambda text: tokenizer.encode(text, add_special_tokens=False), limit


@lru_cache(maxsize=2)
def _tokenizer(name: str) -> "PreTrainedTokenizerBase":
    from transformers import AutoTokenizer

    # Chunking measures whole sections: no warning that a text is longer than the model reads.
    return AutoTokenizer.from_pretrained(name, model_max_length=1_000_000_000)


def no_progress_bars() -> None:
    """Loading and saving a model draw progress bars: for a terminal, while in an Airflow task
    each lands in the log as an error line."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


@lru_cache(maxsize=4)
def _load(
    name: str, device: str, batch_size: int, backend: str, onnx_dir: Path, threads: int
) -> BaseEmbedding:
    # Imported here: torch costs seconds, and Airflow parses DAG files often.
    from .local_embedding import LocalEmbedding

    no_progress_bars()
    return LocalEmbedding(
        model_name=name,
        device=device,
        embed_batch_size=batch_size,
        backend=backend,
        onnx_cache=onnx_dir,
        threads=threads,
    )
{%- else %}


def model_tokens(settings: Settings) -> tuple[Tokenize, int]:
    """The model's tokenizer and how many tokens it reads. OpenAI's embedding models read 8,191
    tokens of cl100k_base; another server's model is measured the same way, as an estimate."""
    from llama_index.core.utils import get_tokenizer

    # LlamaIndex's cl100k_base tokenizer: its vocabulary ships with LlamaIndex, so nothing is fetched.
    return get_tokenizer(), 8191


@lru_cache(maxsize=2)
def _load(
    name: str, dimensions: int | None, batch_size: int, api_key: str, base_url: str | None
) -> BaseEmbedding:
    from llama_index.embeddings.openai import OpenAIEmbedding

    # model_name takes any model the server offers. The OpenAI client retries 429 and 5xx answers
    # with exponential backoff.
    return OpenAIEmbedding(
        model_name=name,
        dimensions=dimensions,
        embed_batch_size=batch_size,
        api_key=api_key,
        api_base=base_url,
        max_retries=6,
    )
{%- endif %}
