"""One index, several processes, as the project runs: the UI serves while the command line (as an
Airflow task would) adds, changes and deletes documents in another process. Every question before,
during and after is answered, and the answers follow the new content."""

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gradio_client import Client

from {{ cookiecutter.package_name }}.answering.live_index import VERSION_CHECK_S
from {{ cookiecutter.package_name }}.config import Settings

from ..conftest import PROJECT, free_port, wait_for_http

PACKAGE = "{{ cookiecutter.package_name }}"


@pytest.fixture
def shared_settings(
{%- if cookiecutter.vector_store == "chroma" %}
    project_chroma: Settings,
{%- else %}
    settings: Settings,
{%- endif %}
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """The test's settings in the environment of every process it starts, with no language model,
    and no rate limit: one client asks as fast as it can."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("RAG_UI_QUESTIONS_PER_MINUTE", "1000000")
{%- if cookiecutter.llm == "openai_compatible" %}
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: passages
{%- endif %}
{%- if cookiecutter.vector_store == "chroma" %}
    return project_chroma
{%- else %}
    return settings
{%- endif %}


def cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def ingested(shared_settings: Settings, docs: Path) -> Settings:
    """The documents ingested by another process before the UI starts."""
    assert "added 7" in cli("ingest")
    return shared_settings


@pytest.fixture
def ui(ingested: Settings, tmp_path: Path) -> Iterator[Client]:
    """The UI in a process of its own, as `make serve` runs it."""
    port = free_port()
    with (tmp_path / "ui.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout_s=180)
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    finally:
        process.terminate()
        process.wait(timeout=30)


def ask(client: Client, question: str) -> tuple[str, str]:
    """The answer as the UI shows it, and the sources it lists (in passages mode, the passages)."""
    chat, _ = client.predict(question, [], api_name="/ask")
    shown = str(chat[-1]["content"])
    answer, _, sources = shown.partition('<div class="sources">')
    return answer, sources


@dataclass
class Asker:
    asked: int = 0
    failures: list[str] = field(default_factory=list)


@contextmanager
def asking_throughout(ui: Client, question: str, cited: str) -> Iterator[Asker]:
    """Ask ``question`` again and again, in a thread, while the block runs; an answer fails when its
    sources do not name ``cited`` (any source at all, for "") or when asking raises."""
    asker = Asker()
    done = threading.Event()

    def keep_asking() -> None:
        while not done.is_set():
            try:
                answer, sources = ask(ui, question)
                if not sources or cited not in sources:
                    asker.failures.append(f"not from a complete index: {answer[:300]}")
            except Exception as error:  # an error page, a dropped request: all count
                asker.failures.append(repr(error)[:300])
            asker.asked += 1

    thread = threading.Thread(target=keep_asking)
    thread.start()
    try:
        yield asker
    finally:
        done.set()
        thread.join(timeout=120)


def test_the_ui_follows_writes_made_by_another_process(
    ui: Client, docs: Path, tmp_path: Path
) -> None:
    answer, sources = ask(ui, "How do I add my own documents?")
    assert "adding-sources.md" in sources, answer

    with asking_throughout(ui, "Where are the ratings stored?", "") as asker:
        (docs / "zebra.md").write_text(
            "# Zebra protocol\n\nThe zebra protocol rotates the on-call pager every Tuesday.\n"
        )
        (docs / "models.md").unlink()
        faq = docs / "faq.txt"
        faq.write_text(faq.read_text() + "\nIs there a mobile app? No, it works on phones.\n")
        assert "added 1, changed 1, deleted 1" in cli("ingest")
    assert asker.asked > 0 and asker.failures == [], (tmp_path / "ui.log").read_text()[-4000:]

    answer, sources = ask(ui, "What does the zebra protocol rotate?")
    assert "zebra.md" in sources, answer
    _, sources = ask(ui, "Which embedding models can I use?")
    assert "models.md" not in sources


def test_the_ui_answers_without_pause_through_a_rebuild_and_its_promotion(
    ui: Client, docs: Path, tmp_path: Path
) -> None:
    """A full refresh builds a new index version beside the live one, which answers meanwhile; once
    it is complete it goes live, and the UI follows within seconds, without a restart."""
    live = re.findall(r"^(\S+)\s+live\b", cli("versions"), re.MULTILINE)
    assert len(live) == 1

    # Never an empty or half-built index: every answer cites the page.
    question = "How do I add my own documents?"
    with asking_throughout(ui, question, "adding-sources.md") as asker:
        (docs / "zebra.md").write_text(
            "# Zebra protocol\n\nThe zebra protocol rotates the on-call pager every Tuesday.\n"
        )
        rebuilt = cli("ingest", "--full-refresh")
        assert "added 1, changed 7, deleted 0" in rebuilt
        new = re.search(r"new index version (\S+) \(full refresh\): live", rebuilt)
        assert new and new[1] != live[0], rebuilt
        time.sleep(VERSION_CHECK_S + 3)  # and on, while the UI switches to the new version
    assert asker.asked > 0 and asker.failures == [], (tmp_path / "ui.log").read_text()[-4000:]
    answer, sources = ask(ui, "What does the zebra protocol rotate?")
    assert "zebra.md" in sources, answer
    assert re.search(rf"^{new[1]}\s+live", cli("versions"), re.MULTILINE)
    assert f"{live[0]} is live" in cli("rollback")
    assert f"{new[1]} is live" in cli("promote")


@pytest.mark.slow
def test_the_load_test_prints_its_figures(
    ingested: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make loadtest`, made small: every answer is counted and stored, from both UI processes (and
    with a language model, the delay a hung one adds is measured)."""
    monkeypatch.setenv("RAG_EVAL_QUESTIONS", str(PROJECT / "eval" / "questions.jsonl"))
    script = PROJECT / "scripts" / "loadtest.py"
    # Two UI processes, as behind a proxy with session affinity: the two clients ask one each.
    options = ["--clients", "1 2", "--per-client", "2", "--processes", "2"]
    options += ["--trace-questions", "3"]  # and tracing's cost, made small
    result = subprocess.run(
        [sys.executable, str(script), *options], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    printed = " ".join(result.stdout.split())
    assert "2 UI process(es)" in printed
    assert " 2 4 0 " in printed  # two clients, four answers, no errors
    assert "stored 6 interactions for 6 answers" in printed
    traced = re.search(r"tracing, 3 answers each: .* (\d+) batches of spans received", printed)
    assert traced and int(traced[1]) >= 1, printed  # sent when the traced UI stopped, if not before
{%- if cookiecutter.llm != "none" %}
    assert "during a hung answer" in printed
{%- endif %}
    logs = Path(result.stdout.rsplit("logs in ", 1)[-1].strip())
    assert logs.name.startswith("loadtest-"), result.stdout
    shutil.rmtree(logs)  # kept when a check above fails; the script keeps them for people
