"""The UI as it is deployed: health endpoints for the platform, and life behind a reverse proxy."""

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.web.accounts import hash_password

from ..conftest import queue_call, serve_ui

QUESTION = "How do I add my own documents?"


@pytest.fixture
def feedback(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")


def ask_as(url: str, address: str) -> str:
    """Ask from a new session, through a proxy that says the visitor is at ``address``; the answer."""
    config = httpx.get(f"{url}config").json()
    ask = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "ask")
    body: dict[str, Any] = {
        "data": [QUESTION, [], None],
        "fn_index": ask,
        "session_hash": uuid.uuid4().hex,
        "event_data": None,
        "trigger_id": None,
    }
    messages = queue_call(url, body, headers={"X-Forwarded-For": address})
    return str(messages[-1]["output"]["data"][0][-1]["content"])


def test_health_endpoints_answer_without_signing_in(
    sample_index: Settings, feedback: FeedbackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = {"ann": {"password_hash": hash_password("a long password"), "groups": []}}
    settings = sample_index.model_copy(
        update={"auth_users": Settings(_env_file=None, auth_users=accounts).auth_users}
    )
    for url in serve_ui(settings, feedback):
        assert httpx.post(f"{url}gradio_api/queue/join", json={}).status_code == 401
        assert httpx.get(f"{url}healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{url}readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

        def unreachable() -> None:
            raise ConnectionError("password=hunter2hunter2 refused")

        monkeypatch.setattr(feedback, "ping", unreachable)
    for url in serve_ui(settings, feedback):  # the app takes the checks when it is made
        down = httpx.get(f"{url}readyz")
        assert (down.status_code, down.json()) == (
            503,
            {"status": "unavailable", "failing": ["feedback"]},
        )
        assert "hunter2" not in down.text


def test_behind_a_proxy_visitors_are_told_apart_by_the_address_it_forwards(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    settings = sample_index.model_copy(update={"ui_questions_per_minute": 1})
    for url in serve_ui(settings, feedback):
        assert "Sources" in ask_as(url, "203.0.113.5")
        assert "please wait" in ask_as(url, "203.0.113.5")
        assert "Sources" in ask_as(url, "203.0.113.6")  # someone else, behind the same proxy


def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    settings = sample_index.model_copy(
        update={"ui_questions_per_minute": 1, "ui_trusted_proxies": "192.0.2.1"}
    )
    for url in serve_ui(settings, feedback):
        assert "Sources" in ask_as(url, "203.0.113.5")
        assert "please wait" in ask_as(url, "203.0.113.6")  # one client, whatever it claims


def test_under_a_path_prefix_the_page_links_below_it(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    settings = sample_index.model_copy(update={"ui_root_path": "/ask"})
    proxy = {"X-Forwarded-Host": "docs.example.com", "X-Forwarded-Proto": "https"}
    for url in serve_ui(settings, feedback):
        config = httpx.get(f"{url}config", headers=proxy).json()
        assert config["root"] == "https://docs.example.com/ask"
        assert httpx.get(f"{url}healthz").status_code == 200


def test_a_root_path_must_be_a_plain_path() -> None:
    for bad in ("ask", "/ask/", "/a b", "https://x.example/ask"):
        with pytest.raises(ValueError, match="ui_root_path"):
            Settings(_env_file=None, ui_root_path=bad)


def test_the_ui_runs_its_models_on_the_threads_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On every core, a model's idle threads spin and starve the web server's other requests."""
{%- if cookiecutter.embeddings == "local" %}
    import torch
{%- endif %}

    from {{ cookiecutter.package_name }}.index import embeddings
    from {{ cookiecutter.package_name }}.web import app as web

    running_with: list[int] = []

    class Started:
        def run(self) -> None:
{%- if cookiecutter.embeddings == "local" %}
            running_with.append(torch.get_num_threads())
{%- endif %}
            running_with.append(embeddings.model_threads())  # what a reranker will load with

    monkeypatch.setattr(web, "server", lambda *args, **kwargs: Started())
    monkeypatch.setattr(embeddings, "_model_threads", embeddings.model_threads())  # restored after
{%- if cookiecutter.embeddings == "local" %}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        web.serve(Settings(ui_model_threads=1, _env_file=None))
    finally:
        torch.set_num_threads(before)
    assert running_with == [1, 1]
{%- else %}
    web.serve(Settings(ui_model_threads=1, _env_file=None))
    assert running_with == [1]
{%- endif %}
