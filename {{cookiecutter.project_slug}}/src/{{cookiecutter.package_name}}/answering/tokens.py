"""A language-model call's tokens, for its trace: as the server reports them (OpenAI's usage, asked for
in a stream with ``stream_options={"include_usage": true}``), or counted here where it reports none."""

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.llms import ChatMessage
from llama_index.core.utils import get_tokenizer

from ..answers import Trace

# Asks a streaming server to end with the call's usage; servers that do not know it leave it out.
STREAM_USAGE = {"stream_options": {"include_usage": True}}


def reported(extra: Mapping[str, Any]) -> tuple[int, int] | None:
    """The prompt and completion tokens a response reports (LlamaIndex puts them in its
    ``additional_kwargs``), or None."""
    if extra.get("prompt_tokens") is None or extra.get("completion_tokens") is None:
        return None
    return int(extra["prompt_tokens"]), int(extra["completion_tokens"])


def counted(text: str) -> int:
    """Tokens of ``text`` by a GPT tokenizer (tiktoken's, bundled with LlamaIndex): an estimate for
    other models."""
    return len(get_tokenizer()(text))


def record_call(
    trace: Trace, messages: Sequence[ChatMessage], reply: str, usage: tuple[int, int] | None
) -> None:
    """Add one call's tokens to ``trace``: ``usage`` as reported, else counted."""
    if usage is not None:
        trace.add_tokens(*usage, reported=True)
        return
    prompt = counted("\n".join(str(message.content or "") for message in messages))
    trace.add_tokens(prompt, counted(reply), reported=False)
