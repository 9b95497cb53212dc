{%- if cookiecutter.embeddings == "local" -%}
"""The embedding model: sentence-transformers on this machine, loaded once per process."""
{%- else -%}
"""The embedding model: OpenAI's embeddings API, batched, with retries and backoff on 429 and 5xx."""
{%- endif %}

from functools import lru_cache

from llama_index.core.base.embeddings.base import BaseEmbedding

from .config import Settings


def embedding_model(settings: Settings) -> BaseEmbedding:
{%- if cookiecutter.embeddings == "local" %}
    return _load(settings.embedding_model, settings.embedding_device, settings.embed_batch_size)
{%- else %}
    if settings.openai_api_key is None:
        raise RuntimeError("embeddings=openai needs OPENAI_API_KEY (or RAG_OPENAI_API_KEY)")
    return _load(
        settings.embedding_model,
        settings.embedding_dimensions,
        settings.embed_batch_size,
        settings.openai_api_key.get_secret_value(),
    )
{%- endif %}


{%- if cookiecutter.embeddings == "local" %}


@lru_cache(maxsize=2)
def _load(name: str, device: str, batch_size: int) -> BaseEmbedding:
    # Imported here: torch costs seconds, and Airflow parses DAG files often.
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=name, device=device, embed_batch_size=batch_size)
{%- else %}


@lru_cache(maxsize=2)
def _load(name: str, dimensions: int | None, batch_size: int, api_key: str) -> BaseEmbedding:
    from llama_index.embeddings.openai import OpenAIEmbedding

    # The OpenAI client retries 429 and 5xx answers with exponential backoff.
    return OpenAIEmbedding(
        model=name,
        dimensions=dimensions,
        embed_batch_size=batch_size,
        api_key=api_key,
        max_retries=6,
    )
{%- endif %}
