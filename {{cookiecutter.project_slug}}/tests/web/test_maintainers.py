"""The maintainers' page: only members of the maintainers' group get it, its data or its API; what
it shows comes from the feedback tables and the latest topics."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from {{ cookiecutter.package_name }}.answering.retrieval.standing import refresh_standings
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.insights.question_topics import run_question_topics
from {{ cookiecutter.package_name }}.web.accounts import hash_password
from {{ cookiecutter.package_name }}.web.maintainers import (
    figures,
    latency_by_stage,
    maintainers_dependency,
    maintainers_login,
    questions_per_day,
    spending_per_day,
    summary,
)

from ..conftest import PROJECT, serve_ui
from .test_browser import TIMEOUT_MS

PASSWORD = "a long enough password"
ACCOUNTS = {
    "ann": {"password_hash": hash_password(PASSWORD), "groups": ["maintainers"]},
    "bob": {"password_hash": hash_password(PASSWORD), "groups": ["staff"]},
}


def with_accounts(settings: Settings) -> Settings:
    accounts = Settings(_env_file=None, auth_users=ACCOUNTS).auth_users
    return settings.model_copy(update={"auth_users": accounts})


@pytest.mark.unit
def test_only_the_maintainers_group_may_sign_in_to_the_page() -> None:
    settings = with_accounts(Settings(_env_file=None))
    login = maintainers_login(settings)
    assert login is not None and login("ann", PASSWORD) and not login("bob", PASSWORD)
    assert maintainers_login(Settings(_env_file=None)) is None  # no accounts: no page


@pytest.mark.unit
def test_behind_a_proxy_the_groups_header_decides() -> None:
    settings = Settings(_env_file=None, auth_header="X-User", auth_groups_header="X-Groups")
    maintainer = maintainers_dependency(settings)
    assert maintainer is not None

    class Request:
        def __init__(self, **headers: str) -> None:
            self.headers = headers

    assert maintainer(Request(**{"X-User": "ann", "X-Groups": "staff, maintainers"})) == "ann"
    assert maintainer(Request(**{"X-User": "bob", "X-Groups": "staff"})) is None
    assert maintainer(Request(**{"X-Groups": "maintainers"})) is None  # nobody signed in
    assert maintainers_dependency(Settings(_env_file=None, auth_header="X-User")) is None


@pytest.fixture
def seeded(settings: Settings, tmp_path: Path) -> Iterator[FeedbackStore]:
    """A feedback database with 600 made-up answers over three days, their topics and the
    documents' standings."""
    database = f"sqlite:///{tmp_path / 'seeded.db'}"
    script = PROJECT / "scripts" / "seed_interactions.py"
    options = ["--count", "600", "--days", "3", "--topics", "12", "--database", database]
    subprocess.run([sys.executable, str(script), *options], check=True, capture_output=True)
    run_question_topics(
        settings.model_copy(update={"feedback_db_url": database}),
        datetime.now(UTC) - timedelta(days=4),
    )
    store = FeedbackStore(database)
    refresh_standings(store)  # as the feedback_loop DAG does
    yield store


def test_the_page_shows_the_periods_figures(seeded: FeedbackStore, settings: Settings) -> None:
    shown = figures(seeded, settings, "7d")
    assert shown.usage.questions == 600 and shown.run is not None and shown.run.topics
    per_day = questions_per_day(shown.usage)
    assert per_day["questions"].sum() == 600 and set(per_day["answered by"]) == {"llm", "passages"}
    headline = summary(shown.usage, shown.run)
    assert "**600 questions**" in headline and "UTC" in headline and "+00:00" not in headline
    latency = latency_by_stage(shown.usage)
    assert latency["bar"].is_unique  # one bar per stage and percentile: never stacked
    assert set(latency["percentile"]) == {"p50", "p95"} and "embed" in set(latency["stage"])
    spending = spending_per_day(shown.usage)
    assert spending["tokens"].sum() == shown.usage.prompt_tokens + shown.usage.completion_tokens
    assert spending["USD"].sum() == pytest.approx(shown.usage.cost, abs=1e-4)  # both rounded
    assert len(shown.waiting) > 0  # helpful answers nobody has approved or rejected yet
    assert shown.demoted and all(down > up for _, up, down in shown.demoted)


def test_a_visitor_gets_no_page_and_no_data_and_a_maintainer_does(
    sample_index: Settings, seeded: FeedbackStore
) -> None:
    settings = with_accounts(sample_index)
    for url in serve_ui(settings, seeded):
        page = f"{url}maintainers/"
        assert httpx.get(f"{page}config").status_code == 401  # nobody signed in
        assert httpx.post(f"{page}gradio_api/queue/join", json={}).status_code == 401
        bob = httpx.Client()
        refused = bob.post(f"{page}login", data={"username": "bob", "password": PASSWORD})
        assert refused.status_code >= 400 and bob.get(f"{page}config").status_code == 401
        assert bob.post(f"{url}login", data={"username": "bob", "password": PASSWORD}).is_success
        ann = httpx.Client()
        assert ann.post(f"{page}login", data={"username": "ann", "password": PASSWORD}).is_success
        assert ann.get(f"{page}config").status_code == 200


@pytest.mark.slow
def test_a_maintainer_reads_the_page_and_approves_an_answer_in_a_browser(
    browser: Any, sample_index: Settings, seeded: FeedbackStore, screenshots: Path
) -> None:
    waiting = figures(seeded, sample_index, "7d").waiting
    chosen = int(waiting["id"].iloc[0])
    for url in serve_ui(with_accounts(sample_index), seeded):
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{url}maintainers/")
        page.get_by_label("username").fill("bob")  # a signed-in user, but not a maintainer
        page.get_by_label("password").fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect Credentials").wait_for(timeout=TIMEOUT_MS)
        page.get_by_label("username").fill("ann")
        page.get_by_label("password").fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.get_by_text("600 questions").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Questions per day").first.wait_for(timeout=TIMEOUT_MS)
        page.locator("canvas, svg").first.wait_for(timeout=TIMEOUT_MS)  # the plots are drawn
        page.screenshot(path=screenshots / "maintainers.png", full_page=True)

        page.get_by_label("Answer id").fill(str(chosen))
        page.get_by_role("button", name="Approve").click()
        page.get_by_text(f"Answer {chosen}: approved by ann.").wait_for(timeout=TIMEOUT_MS)
    assert chosen not in set(figures(seeded, sample_index, "7d").waiting["id"])
