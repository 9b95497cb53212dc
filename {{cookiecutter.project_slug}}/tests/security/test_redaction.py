"""Redaction at ingestion: e-mail addresses and secrets are hidden, ordinary text is not."""

import pytest

from {{ cookiecutter.package_name }}.security.redaction import redact

pytestmark = pytest.mark.unit  # pure logic: no server, no model


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Write to ops.team+rag@example.co.uk today.", "ops.team+rag@example.co.uk"),
        ("key AKIAIOSFODNN7EXAMPLE in the config", "AKIAIOSFODNN7EXAMPLE"),
        (
            "export TOKEN=ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
            "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        ),
        ("OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl0", "sk-proj-Abc123Def456Ghi789Jkl0"),
        ('password = "correct-horse-battery"', "correct-horse-battery"),
        ("db_secret: Zm9vYmFyYmF6cXV4MTIz", "Zm9vYmFyYmF6cXV4MTIz"),
        ("headers: {'Authorization': 'Bearer sk-test-4f9a2b'}", "sk-test-4f9a2b"),
        ("could not reach postgresql+psycopg://rag:pa55word@db:5432/rag", "pa55word"),
    ],
)
def test_secrets_and_addresses_are_hidden(text: str, hidden: str) -> None:
    redacted, count = redact(text)
    assert hidden not in redacted and count >= 1 and "[REDACTED" in redacted


def test_names_of_settings_and_ordinary_prose_survive() -> None:
    text = (
        'Set `password = "correct-horse-battery"` and RAG_OPENAI_API_KEY in .env.\n'
        "The token limit is 256; see docs/chunking.rst, http://example.com/a@b or "
        "http://localhost:8080/@v."
    )
    redacted, count = redact(text)
    assert count == 1
    assert 'password = "[REDACTED SECRET]' in redacted
    assert "RAG_OPENAI_API_KEY" in redacted and "token limit is 256" in redacted
    assert "docs/chunking.rst" in redacted and "localhost:8080/@v" in redacted


def test_nothing_to_hide_leaves_the_text_unchanged() -> None:
    text = "# Install\n\nRun `make setup`, then `make demo`.\n"
    assert redact(text) == (text, 0)
