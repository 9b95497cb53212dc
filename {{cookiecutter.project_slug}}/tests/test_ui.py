"""The Gradio app over HTTP, driven by gradio_client like a browser would."""

from collections.abc import Iterator

import pytest
from gradio_client import Client

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback import FeedbackStore
from {{ cookiecutter.package_name }}.ui import build_app

from .conftest import free_port


@pytest.fixture(scope="module")
def feedback(tmp_path_factory: pytest.TempPathFactory) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('ui') / 'feedback.db'}")


@pytest.fixture(scope="module")
def client(sample_index: Settings, feedback: FeedbackStore) -> Iterator[Client]:
    app = build_app(sample_index, feedback=feedback)
    port = free_port()
    app.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    finally:
        app.close()


def test_a_question_gets_an_answer_with_sources_and_is_recorded(
    client: Client, feedback: FeedbackStore
) -> None:
    before = feedback.counts()["interactions"]
    answer, sources, interaction_id, _ = client.predict(
        "How do I add my own documents?", api_name="/ask"
    )
    assert "[1]" in answer
    assert "### Sources" in sources and "adding-sources.md" in sources
    assert int(interaction_id) > 0
    assert feedback.counts()["interactions"] == before + 1


def test_a_rating_lands_in_the_ratings_table_and_on_the_landing_view(
    client: Client, feedback: FeedbackStore
) -> None:
    question = "Where are the ratings stored?"
    _, _, interaction_id, _ = client.predict(question, api_name="/ask")
    status = client.predict(interaction_id, "spot on", api_name="/rate_helpful")
    assert "saved" in status
    with feedback.engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT interaction_id, score, comment FROM ratings"
        ).fetchall()[-1]
    assert tuple(row) == (int(interaction_id), 1, "spot on")
    assert question in feedback.recent_good_questions()
    assert "Ask a question first" in client.predict("", "", api_name="/rate_unhelpful")


@pytest.mark.parametrize(
    ("question", "message"), [("", "type a question"), ("why? " * 300, "the limit is")]
)
def test_bad_questions_get_a_message_and_store_nothing(
    client: Client, feedback: FeedbackStore, question: str, message: str
) -> None:
    before = feedback.counts()["interactions"]
    answer, sources, interaction_id, _ = client.predict(question, api_name="/ask")
    assert message in answer and sources == "" and interaction_id == ""
    assert feedback.counts()["interactions"] == before
