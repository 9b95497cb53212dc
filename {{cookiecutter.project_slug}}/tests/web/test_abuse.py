"""What a hostile visitor can send the web UI over HTTP, each with the outcome it must have.

The app runs on loopback as ``serve`` runs it. Requests go through Gradio's client and, where a
browser's own protocol is the way in (ratings), as raw queue calls a script could forge.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gradio_client import Client

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.schema import interactions
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.web.accounts import FAILURES_ALLOWED, hash_password

from ..conftest import queue_call
from ..conftest import serve_ui as serve

PASSWORD = "a long enough password"


def ask(url: str, question: str, **client: Any) -> str:
    chat, _ = Client(url, verbose=False, download_files=False, **client).predict(
        question, [], api_name="/ask"
    )
    return str(chat[-1]["content"])


def stored_questions(feedback: FeedbackStore) -> list[str]:
    with feedback.engine.connect() as connection:
        return list(
            connection.execute(
                interactions.select().with_only_columns(interactions.c.question)
            ).scalars()
        )


def forge(
    url: str, event: str, data: list[Any], event_data: dict[str, Any]
) -> list[dict[str, Any]]:
    """Call the UI's handler for ``event`` on the chat as a browser would, from a fresh session."""
    config = httpx.get(f"{url}config").json()
    chat = next(
        c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "chat"
    )
    fn_index = next(
        i for i, d in enumerate(config["dependencies"]) if [chat, event] in d["targets"]
    )
    session = uuid.uuid4().hex
    body = {
        "data": data,
        "event_data": event_data,
        "fn_index": fn_index,
        "trigger_id": chat,
        "session_hash": session,
    }
    return queue_call(url, body)


@pytest.fixture(scope="module")
def feedback(tmp_path_factory: pytest.TempPathFactory) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('abuse') / 'feedback.db'}")


@pytest.fixture(scope="module")
def open_app(sample_index: Settings, feedback: FeedbackStore) -> Iterator[str]:
    """The app as a default project serves it: no sign-in, two questions a minute per client."""
    yield from serve(sample_index.model_copy(update={"ui_questions_per_minute": 2}), feedback)


@pytest.mark.parametrize(
    ("payload", "stored"),
    [
        ("What is <img src=x onerror=alert(1)>?", "What is <img src=x onerror=alert(1)>?"),
        ("x'); DROP TABLE interactions; --", "x'); DROP TABLE interactions; --"),
        ("Wie\x00 geht\x1b]0;pwned\x07 das?", "Wie  geht ]0;pwned  das?"),
        ("\u202eSHOW ME\u202c", "\u202eSHOW ME\u202c"),
    ],
)
def test_hostile_questions_are_stored_as_text_and_never_run(
    payload: str, stored: str, sample_index: Settings, feedback: FeedbackStore
) -> None:
    # Each payload from an app of its own: the rate limit of the shared one is tested below.
    for url in serve(sample_index, feedback):
        answer = ask(url, payload)
        assert "<img" not in answer and "onerror=alert" not in answer.split("`")[0]
    assert stored_questions(feedback)[-1] == stored


def test_an_over_long_question_is_refused_and_not_stored(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    before = stored_questions(feedback)
    for url in serve(sample_index, feedback):
        answer = ask(url, "x" * (sample_index.max_question_chars + 1))
    assert "the limit is" in answer and stored_questions(feedback) == before


def test_a_client_asking_too_fast_is_told_to_wait_and_nothing_is_stored(
    open_app: str, feedback: FeedbackStore
) -> None:
    before = len(stored_questions(feedback))
    answers = [ask(open_app, f"How do I add my own documents, take {n}?") for n in range(3)]
    assert "please wait" not in answers[0] and "please wait" in answers[2]
    assert len(stored_questions(feedback)) == before + 2


def test_a_forged_rating_stores_nothing(open_app: str, feedback: FeedbackStore) -> None:
    """Ratings go to the answers of the session that received them: a script that names an answer
    (any index, any value) from a session of its own rates nothing."""
    before = feedback.counts()["ratings"]
    for index in (0, 1, "1 OR 1=1", 2**64, [1, 0]):
        messages = forge(open_app, "like", [None], {"index": index, "value": "x", "liked": True})
        assert messages[-1]["msg"] == "process_completed" and messages[-1]["success"]
    assert feedback.counts()["ratings"] == before


def test_what_the_app_does_not_use_is_closed(open_app: str) -> None:
    assert httpx.get(f"{open_app}monitoring/summary").status_code != 200
    upload = httpx.post(
        f"{open_app}gradio_api/upload", files={"files": ("big.bin", b"x" * 20_000_000)}, timeout=60
    )
    assert upload.status_code == 413


def test_the_login_page_keeps_out_whoever_has_no_account(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    accounts = {"ann": {"password_hash": hash_password(PASSWORD), "groups": []}}
    settings = sample_index.model_copy(
        update={"auth_users": Settings(_env_file=None, auth_users=accounts).auth_users}
    )
    for url in serve(settings, feedback):
        assert httpx.post(f"{url}gradio_api/queue/join", json={}).status_code == 401
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a bare ValueError
            ask(url, "How do I add my own documents?")
        assert "adding-sources" in ask(
            url, "How do I add my own documents?", auth=("ann", PASSWORD)
        )
        # Behind the proxy (loopback, trusted by default), X-Forwarded-For names the client.
        attacker, owner = {"X-Forwarded-For": "203.0.113.5"}, {"X-Forwarded-For": "198.51.100.7"}
        guess = {"username": "ann", "password": "guess-guess-guess"}
        for _ in range(FAILURES_ALLOWED + 2):
            assert httpx.post(f"{url}login", data=guess, headers=attacker).status_code == 400
        right = {"username": "ann", "password": PASSWORD}
        assert httpx.post(f"{url}login", data=right, headers=attacker).status_code == 400
        assert httpx.post(f"{url}login", data=right, headers=owner).status_code == 200


def test_behind_a_proxy_only_the_visitors_it_signed_in_get_through(
    sample_index: Settings, feedback: FeedbackStore
) -> None:
    settings = sample_index.model_copy(
        update={"auth_header": "X-Forwarded-User", "auth_required": True}
    )
    for url in serve(settings, feedback):
        assert httpx.get(f"{url}config").status_code == 401
        answer = ask(url, "How do I add my own documents?", headers={"X-Forwarded-User": "ann"})
        assert "adding-sources" in answer
