"""What a workshop participant does in the browser, done by Chromium for the workshop test.

Run with a generated project's interpreter (it has Playwright):
    python workshop_browser.py ask-and-rate "How do I add my own documents?"
    python workshop_browser.py landing "How do I add my own documents?"
    python workshop_browser.py maintainers NAME PASSWORD
Each prints what the participant would see, for the step's ``# expect:`` lines.
"""

import shutil
import sys
from collections.abc import Callable

from playwright.sync_api import Page, sync_playwright

URL = "http://127.0.0.1:7860"
TIMEOUT_MS = 180_000  # a generated answer from a small model on a busy 2-core machine
LANDING = "Ask about the documentation"


def open_chat(page: Page) -> None:
    """The UI's landing view, once it has loaded."""
    page.goto(URL)
    page.locator("#chat").get_by_text(LANDING).wait_for(timeout=TIMEOUT_MS)


def ask_and_rate(page: Page, question: str) -> None:
    """Ask on the landing view, wait for the whole answer, and rate it helpful."""
    open_chat(page)
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.locator('#chat [data-testid="bot"]').first.wait_for(timeout=TIMEOUT_MS)
    page.locator('#chat [data-testid="bot"] .sources').first.wait_for(timeout=TIMEOUT_MS)
    page.locator('#chat button[aria-label="Like"]').first.click()
    page.get_by_text("Thanks, your rating was saved.").wait_for(timeout=TIMEOUT_MS)
    print(f"rated helpful: {question}")


def landing(page: Page, starter: str = "") -> None:
    """The landing view as the next visitor sees it, once ``starter`` is offered on it (the starter
    questions arrive just after the page)."""
    open_chat(page)
    if starter:
        page.locator("#chat").get_by_text(starter).wait_for(timeout=TIMEOUT_MS)
    print(page.locator("#chat").inner_text())


def maintainers(page: Page, name: str, password: str) -> None:
    """Sign in to the maintainers' page and read its documentation gaps."""
    page.goto(f"{URL}/maintainers/")
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    # The headline and the tables are filled by one event: once it shows, the gaps are there too.
    page.locator("#headline").get_by_text("questions").wait_for(timeout=TIMEOUT_MS)
    gaps = page.get_by_role("heading", name="Where the docs fall short", exact=True)
    gaps.wait_for(timeout=TIMEOUT_MS)
    print(page.locator("body").inner_text())


def main(action: str, *arguments: str) -> None:
    actions: dict[str, Callable[..., None]] = {
        "ask-and-rate": ask_and_rate,
        "landing": landing,
        "maintainers": maintainers,
    }
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if chromium is None:
        sys.exit("no Chromium on PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        actions[action](page, *arguments)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
