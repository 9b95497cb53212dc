"""The UI in a real browser: Playwright drives Chromium (the system's own; nothing is downloaded).

One conversation as a person has it: the landing view, a question, a follow-up, a rating with a
comment (checked in the feedback tables), a new conversation, and the rated question offered as a
starter on the next visit. And the login page, when the UI has accounts. Screenshots go to ``SCREENSHOTS_DIR`` (default: the test's temporary folder).
"""

from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.feedback.schema import ratings
from {{ cookiecutter.package_name }}.feedback.store import FeedbackStore
from {{ cookiecutter.package_name }}.web.accounts import hash_password

from ..conftest import feedback_that_records_nothing, serve_ui

TIMEOUT_MS = 120_000  # an answer on a slow machine, model loaded


def ask(page: Any, question: str, answers_before: int) -> Any:
    """Type a question, press Enter, and wait for its finished answer."""
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    answers = page.locator('#chat [data-testid="bot"]')
    answers.nth(answers_before).wait_for(timeout=TIMEOUT_MS)
    page.locator("#chat .pending").wait_for(state="detached", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "n => document.querySelectorAll('#chat [data-testid=\"bot\"] .sources').length >= n",
        arg=answers_before + 1,
        timeout=TIMEOUT_MS,
    )
    return answers.nth(answers_before)


def test_a_conversation_in_a_browser(
    browser: Any, ui_url: str, ui_feedback: FeedbackStore, screenshots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(ui_url)
    landing = page.locator("#chat")
    landing.get_by_text("Ask about the documentation").wait_for(timeout=TIMEOUT_MS)
    assert page.locator('#chat button[aria-label="Like"]').count() == 0  # nothing to rate yet
    page.screenshot(path=screenshots / "landing.png")

    first = ask(page, "How do I add my own documents?", 0)
    assert "adding-sources.md" in first.inner_text()
    assert "Error" not in first.inner_text()
    follow_up = ask(page, "And can it read a website too?", 1)
    follow_up.locator("details").evaluate_all("cards => cards.forEach(c => (c.open = true))")
    assert "website" in follow_up.inner_text().lower()  # in a source, as its reader opens it
    page.screenshot(path=screenshots / "answer.png", full_page=True)

    page.locator('#chat button[aria-label="Like"]').first.click()
    page.get_by_text("Thanks, your rating was saved.").wait_for(timeout=TIMEOUT_MS)
    page.fill("#rating-comment textarea", "Clear steps, thank you")
    page.keyboard.press("Enter")
    page.get_by_text("Thanks, your comment was saved.").wait_for(timeout=TIMEOUT_MS)
    with ui_feedback.engine.connect() as connection:
        interaction, score, comment = connection.execute(
            ratings.select().with_only_columns(
                ratings.c.interaction_id, ratings.c.score, ratings.c.comment
            )
        ).one()
    assert (score, comment) == (1, "Clear steps, thank you")

    page.get_by_role("button", name="New conversation").click()
    page.locator('#chat [data-testid="bot"]').first.wait_for(state="detached")
    page.reload()
    landing.get_by_text("Ask about the documentation").wait_for(timeout=TIMEOUT_MS)
    starter = page.locator("#chat").get_by_text("How do I add my own documents?")
    assert starter.count() == 0  # one visitor's rating does not change what others see

    ui_feedback.review(interaction, "approve", "maintainer")  # as `review` and `approve` do
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.reload()
    starter.wait_for(timeout=TIMEOUT_MS)  # the approved question, offered to the next visitor
    page.screenshot(path=screenshots / "phone-landing.png")
    starter.click()
    ask_again = page.locator('#chat [data-testid="bot"]').first
    ask_again.wait_for(timeout=TIMEOUT_MS)
    page.screenshot(path=screenshots / "phone-answer.png", full_page=True)


def test_an_answer_that_could_not_be_saved_offers_no_thumbs(
    browser: Any, sample_index: Settings, tmp_path: Path
) -> None:
    for url in serve_ui(sample_index, feedback_that_records_nothing(tmp_path / "feedback.db")):
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url)
        page.locator("#chat").get_by_text("Ask about the documentation").wait_for(
            timeout=TIMEOUT_MS
        )
        answer = ask(page, "How do I add my own documents?", 0)
        assert "This answer could not be saved, so it cannot be rated." in answer.inner_text()
        like = page.locator('#chat button[aria-label="Like"]')
        assert like.count() == 0 or not like.first.is_visible()


def test_signing_in_on_the_login_page(
    browser: Any, sample_index: Settings, screenshots: Path, tmp_path: Path
) -> None:
    password = "correct horse battery staple"
    accounts = {"ann": {"password_hash": hash_password(password), "groups": []}}
    settings = sample_index.model_copy(
        update={"auth_users": Settings(_env_file=None, auth_users=accounts).auth_users}
    )
    for url in serve_ui(settings, FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")):
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url)
        page.get_by_label("username").fill("ann")
        page.get_by_label("password").fill("a guess")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect Credentials").wait_for(timeout=TIMEOUT_MS)
        assert page.locator("#chat").count() == 0
        page.screenshot(path=screenshots / "login.png")

        page.get_by_label("username").fill("ann")  # a failed attempt empties the form
        page.get_by_label("password").fill(password)
        page.get_by_role("button", name="Login").click()
        page.locator("#chat").get_by_text("Ask about the documentation").wait_for(
            timeout=TIMEOUT_MS
        )
        assert "adding-sources.md" in ask(page, "How do I add my own documents?", 0).inner_text()
