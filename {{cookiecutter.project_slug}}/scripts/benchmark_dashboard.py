"""How long the maintainers' page takes to be ready over a large feedback database. Prints figures,
asserts nothing.

    uv run python scripts/benchmark_dashboard.py [--interactions 100000]

Seeds a temporary feedback database with ``scripts/seed_interactions.py``, groups its questions into
topics, starts the UI as ``serve`` does with a maintainer's account, signs in with the system's
Chromium (Playwright) and times, from opening the page, until its figures and plots are shown; then
the same for each period. The project's own database is not touched.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.insights.question_topics import run_question_topics
from {{ cookiecutter.package_name }}.web.accounts import hash_password

PROJECT = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 120_000


def ui(env: dict[str, str], log: Path, port: int) -> "subprocess.Popen[bytes]":
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "serve", "--port", str(port)]
    with log.open("w") as out:
        return subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=5, help="Page loads timed.")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "chromium"
    work = Path(tempfile.mkdtemp(prefix="dashboard-"))
    database = f"sqlite:///{work / 'feedback.db'}"
    seed = [sys.executable, str(PROJECT / "scripts" / "seed_interactions.py")]
    started = time.perf_counter()
    subprocess.run(
        # Within the page's default period (7 days), so that it reads every one of them.
        [*seed, "--count", str(args.interactions), "--days", "6", "--database", database],
        check=True,
    )
    settings = Settings().model_copy(update={"feedback_db_url": database})
    run = run_question_topics(settings, datetime.now(UTC) - timedelta(days=7))
    print(
        f"seeded {args.interactions:,} interactions and grouped {run.questions:,} questions into "
        f"{len(run.topics)} topics in {time.perf_counter() - started:.0f} s"
    )
    password = secrets.token_urlsafe(16)
    accounts = json.dumps(
        {"ann": {"password_hash": hash_password(password), "groups": ["maintainers"]}}
    )
    port = 7900 + secrets.randbelow(90)
    env = {"RAG_FEEDBACK_DB_URL": database, "RAG_AUTH_USERS": accounts}
    process = ui(env, work / "ui.log", port)
    from playwright.sync_api import sync_playwright

    page_url = f"http://127.0.0.1:{port}/maintainers/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            deadline = time.monotonic() + 180
            while True:
                try:
                    page.goto(page_url)
                    break
                except Exception:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"the UI did not start; see {work / 'ui.log'}") from None
                    time.sleep(1)
            page.get_by_label("username").fill("ann")
            page.get_by_label("password").fill(password)
            page.get_by_role("button", name="Login").click()
            ready = page.locator("#headline").get_by_text(f"{args.interactions:,} questions")
            ready.wait_for(timeout=TIMEOUT_MS)
            times = []
            for _ in range(args.loads):
                started = time.perf_counter()
                page.goto(page_url)
                ready.wait_for(timeout=TIMEOUT_MS)
                page.locator("canvas, svg").first.wait_for(timeout=TIMEOUT_MS)
                times.append(time.perf_counter() - started)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(
        f"the maintainers' page over {args.interactions:,} interactions was ready in "
        f"{statistics.median(times):.2f} s (median of {len(times)}; "
        f"min {min(times):.2f}, max {max(times):.2f})"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
