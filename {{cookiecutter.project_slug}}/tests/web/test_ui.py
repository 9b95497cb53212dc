"""The Gradio app over HTTP, through its `ask` API, and the pieces that lay out an answer.

The conversation in a real browser (asking, following up, rating) is in ``test_browser.py``.
"""

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from sqlalchemy import select

from {{ cookiecutter.package_name }}.answers import Answer, AnswerStream, Source
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.schema import interactions
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.web.app import without_event_statistics
from {{ cookiecutter.package_name }}.web.views import answer_view, link_citations, source_cards

from ..conftest import feedback_that_records_nothing, serve_ui

SOURCE = Source(
    number=1,
    title="Guide",
    uri="https://docs.example.com/guide",
    section="Install",
    text="## Install\n\nRun `make setup`, then <script>alert(1)</script> nothing else.",
    snippet="## Install\n\nRun `make setup`, then <script>alert(1)</script> nothing else.",
    score=0.9,
    document_id="web:guide",
    access="public",
)


@pytest.fixture(scope="module")
def client(ui_url: str) -> Client:
    return Client(ui_url, verbose=False, download_files=False)


def test_a_question_gets_an_answer_with_sources_and_is_recorded(
    client: Client, ui_feedback: FeedbackStore
) -> None:
    before = ui_feedback.counts()["interactions"]
    chat, cleared = client.predict("How do I add my own documents?", [], api_name="/ask")
    question, answer = chat
    assert (question["role"], answer["role"], cleared) == ("user", "assistant", "")
    assert "adding-sources.md" in str(answer["content"])
    assert ui_feedback.counts()["interactions"] == before + 1
    with ui_feedback.engine.connect() as connection:
        asker, similarity = connection.execute(
            select(interactions.c.asker, interactions.c.similarity)
            .order_by(interactions.c.id.desc())
            .limit(1)
        ).one()
    # Who asked, as the limits count them: a keyed hash of the address, never the address itself.
    assert re.fullmatch(r"client:[0-9a-f]{24}", asker) and "127.0.0.1" not in asker
    assert -1.0 <= similarity <= 1.0  # the closest chunk's, by meaning


def test_an_empty_question_is_answered_with_a_plain_message(client: Client) -> None:
    chat, _ = client.predict("   ", [], api_name="/ask")
    assert "Please type a question" in str(chat[-1]["content"])


def test_citations_link_to_sources_with_a_web_address() -> None:
    local = replace(SOURCE, number=2, uri="guide/install.md")
    text = link_citations("Run it [1], then check [2] and [3].", [SOURCE, local])
    assert "[[1]](https://docs.example.com/guide)" in text
    assert "[2]" in text and "[[2]]" not in text and "[3]" in text  # no address, no source: as is


def test_source_cards_escape_what_documents_hold() -> None:
    cards = source_cards([SOURCE])
    assert "<script>" not in cards and "&lt;script&gt;" in cards
    assert "[1] Guide › Install" in cards and 'href="https://docs.example.com/guide"' in cards
    preview = cards.split("</summary>")[0]
    assert "## Install" not in preview and "make setup" in preview  # plain text, words kept


def test_in_passages_mode_each_passage_appears_once() -> None:
    answer = Answer(
        question="How do I install it?",
        text=f"_No language model._\n\n**[1] Guide › Install** · {SOURCE.uri}\n\n{SOURCE.text}",
        sources=[SOURCE],
        mode="passages",
        model=None,
        notice="No language model is configured, so here are the most relevant passages.",
        latency_ms=5,
    )
    view = answer_view(answer)
    assert view.count("nothing else") == 1 and str(answer.notice) in view


def test_finished_events_are_not_summarised_for_statistics_nobody_reads() -> None:
    blocks = gr.Blocks().queue()
    without_event_statistics(blocks)
    queue = blocks._queue
    queue.events_recorded = 500  # Gradio would now build a table of the records, after each event
    record = {"function": "ask", "status": "success", "process_time": 0.1}
    assert queue.compute_analytics_summary([record] * 500) == {"functions": {}}


def test_what_the_app_does_not_use_is_closed(ui_url: str) -> None:
    assert httpx.get(f"{ui_url}monitoring/summary").status_code != 200
    upload = httpx.post(
        f"{ui_url}gradio_api/upload", files={"files": ("big.bin", b"x" * 20_000_000)}, timeout=60
    )
    assert upload.status_code == 413


class TwoAtOnce:
    """An engine whose every answer waits until another question is being answered too."""

    def __init__(self) -> None:
        self.together = threading.Barrier(2, timeout=30)

    def check_index(self) -> None:  # what the readiness check asks: it answers
        return None

    def stream(self, question: str, history: object = (), access: object = None) -> AnswerStream:
        self.together.wait()  # alone for 30 s: BrokenBarrierError, and the answer is an error
        return AnswerStream(
            question, [], "llm", "stub", None, iter(["answered together"]), time.perf_counter()
        )


def test_questions_are_answered_at_the_same_time_not_one_after_another(
    sample_index: Settings, ui_feedback: FeedbackStore
) -> None:
    """One slow answer (a language model that hangs) must not hold up everyone else's."""
    for url in serve_ui(sample_index, ui_feedback, engine=TwoAtOnce()):
        client = Client(url, verbose=False, download_files=False)
        jobs = [client.submit(q, [], api_name="/ask") for q in ("First?", "Second?")]
        chats = [job.result(timeout=60)[0] for job in jobs]
    assert all("answered together" in str(chat[-1]["content"]) for chat in chats)


class FailsWhileAnswering:
    """An engine whose store fails, with an address and a password in its error: at once for the
    question "now?", after the first words for any other."""

    ERROR = "connection to postgresql://rag:s3cret@db.internal:5432 refused"

    def check_index(self) -> None:
        return None

    def stream(self, question: str, history: object = (), access: object = None) -> AnswerStream:
        if question == "now?":
            raise RuntimeError(self.ERROR)

        def words() -> Iterator[str]:
            yield "The first words "
            raise RuntimeError(self.ERROR)

        return AnswerStream(question, [], "llm", "stub", None, words(), time.perf_counter())


def test_a_failure_is_logged_and_the_visitor_told_without_its_details(
    sample_index: Settings, ui_feedback: FeedbackStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for url in serve_ui(sample_index, ui_feedback, engine=FailsWhileAnswering()):
        client = Client(url, verbose=False, download_files=False)
        replies = [client.predict(question, [], api_name="/ask") for question in ("now?", "later?")]
    for question, (chat, box) in zip(("now?", "later?"), replies, strict=True):
        assert box == question  # kept, to send again
        assert [m["role"] for m in chat] == ["user", "assistant"]  # no half answer left
        shown = str(chat[-1]["content"])
        assert "something went wrong" in shown
        assert "s3cret" not in shown and "db.internal" not in shown
        reference = re.search(r"reference ([0-9a-f]{8})", shown)
        assert reference, shown
        logged = [r.getMessage() for r in caplog.records if reference.group(1) in r.getMessage()]
        assert logged and "RuntimeError: connection to postgresql://" in logged[0]
        assert "Traceback" in logged[0] and "s3cret" not in logged[0]  # the password stays out


def test_an_answer_stands_when_it_cannot_be_recorded(
    sample_index: Settings, tmp_path: Path
) -> None:
    down = feedback_that_records_nothing(tmp_path / "feedback.db")
    for url in serve_ui(sample_index, down):
        client = Client(url, verbose=False, download_files=False)
        chat, box = client.predict("How do I add my own documents?", [], api_name="/ask")
    assert box == ""
    assert "adding-sources.md" in str(chat[-1]["content"])
    assert "went wrong" not in str(chat[-1]["content"])
    assert "This answer could not be saved, so it cannot be rated." in str(chat[-1]["content"])
