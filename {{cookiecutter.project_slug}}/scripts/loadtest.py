"""Load test of the web UI over HTTP on loopback: prints figures, asserts nothing.

    make loadtest [CLIENTS="1 4 16"] [PER_CLIENT=20] [PROCESSES=1] [TRACE_QUESTIONS=100]

The UI runs as ``serve`` runs it, in a process of its own, over the project's index (ingest first)
and a feedback database of its own (the project's is not touched), with the rate limits lifted.
1. Answers in passages mode (no language model), for each number of concurrent clients: throughput,
   latency p50/p95/max, errors, and whether every answered question was stored. With several UI
   processes, each visitor stays with one, as a proxy with session affinity keeps them.
2. With a language model that accepts requests and never answers: how much later another visitor's
   passages-mode answer (a question the documents do not cover) comes while one answer hangs.
3. What tracing costs: two UI processes, one sending its answers' spans to an OTLP collector on
   loopback and one not, asked the same questions in turn by one visitor; latency p50 and p95 of each.
"""

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from ui_client import Visitor

from {{ cookiecutter.package_name }}.answering.engine import QueryEngine
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.evaluation.cases import load_cases
from {{ cookiecutter.package_name }}.feedback.schema import interactions

UNCOVERED = "What is a good recipe for pancakes with blueberries?"
HUNG_FIRST_TOKEN_S = 5.0  # the deadline the hung model is given in part 2
LIFTED = {"RAG_UI_QUESTIONS_PER_MINUTE": "1000000", "RAG_UI_RATINGS_PER_MINUTE": "1000000"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def ui(env: dict[str, str], log: Path) -> Iterator[str]:
    """The UI as ``serve`` starts it, in a process of its own, until the block ends."""
    port = free_port()
    package = "{{ cookiecutter.package_name }}"
    command = [sys.executable, "-m", package, "serve", "--port", str(port)]
    with log.open("w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the UI did not start; see {log}") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def load(urls: list[str], clients: int, per_client: int, questions: list[str]) -> dict[str, Any]:
    """``clients`` visitors at once, each asking ``per_client`` questions one after another, spread
    over the UI processes at ``urls``."""
    visitors = [Visitor(urls[n % len(urls)]) for n in range(clients)]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def visitor(n: int) -> None:
        nonlocal errors
        for i in range(per_client):
            try:
                took = visitors[n].ask(questions[(n * per_client + i) % len(questions)])
                with lock:
                    latencies.append(took)
            except Exception:  # counted, and the run goes on: this is what is measured
                with lock:
                    errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(visitor, range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "clients": clients,
        "answered": len(latencies),
        "errors": errors,
        "throughput": len(latencies) / wall,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
    }


def stored(database_url: str) -> int:
    with create_engine(database_url).connect() as connection:
        return int(connection.execute(select(func.count()).select_from(interactions)).scalar_one())


class Collector(BaseHTTPRequestHandler):
    """An OTLP endpoint that takes every batch of spans (part 3), and counts them."""

    batches = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).batches += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def tracing_cost(
    env: dict[str, str], work: Path, questions: list[str], count: int
) -> dict[str, list[float]]:
    """Each question's latency (s) from a UI that sends spans and one that does not, in turn."""
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    traced = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}"}
    latencies: dict[str, list[float]] = {"off": [], "on": []}
    try:
        with ui(env, work / "ui-untraced.log") as off, ui(traced, work / "ui-traced.log") as on:
            visitors = {"off": Visitor(off), "on": Visitor(on)}
            for visitor in visitors.values():
                for question in questions[:3]:  # warm: the first answers pay for loading
                    visitor.ask(question)
            for i in range(count):
                order = ("off", "on") if i % 2 else ("on", "off")  # neither always goes first
                for name in order:
                    latencies[name].append(visitors[name].ask(questions[i % len(questions)]))
    finally:
        collector.shutdown()
    return latencies


class HungModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that takes every request and never answers it."""

    def do_POST(self) -> None:
        time.sleep(3600)

    def log_message(self, *args: Any) -> None:
        pass


def hung_model_delay(env: dict[str, str], work: Path, covered: str) -> tuple[float, float]:
    """Another visitor's passages-mode answer, alone and while one answer hangs (medians, s)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HungModel)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hung = {
        **env,
        "RAG_LLM_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
        "OPENAI_API_KEY": "sk-loadtest",
        "RAG_LLM_FIRST_TOKEN_S": str(HUNG_FIRST_TOKEN_S),
    }
    try:
        with ui(hung, work / "ui-hung.log") as url, ThreadPoolExecutor(1) as background:
            other = Visitor(url)
            other.ask(UNCOVERED)  # warm
            alone = statistics.median(other.ask(UNCOVERED) for _ in range(5))
            waiting = background.submit(Visitor(url).ask, covered)
            time.sleep(0.5)  # the hung answer is in flight
            during: list[float] = []
            while not waiting.done() and len(during) < 5:
                during.append(other.ask(UNCOVERED))
            waiting.result(timeout=HUNG_FIRST_TOKEN_S + 60)
    finally:
        server.shutdown()
    return alone, statistics.median(during)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1 4 16", help="Concurrent clients, one run each.")
    parser.add_argument("--per-client", type=int, default=20, help="Questions each client asks.")
    parser.add_argument("--processes", type=int, default=1, help="UI processes serving part 1.")
    parser.add_argument(
        "--trace-questions", type=int, default=100, help="Questions per UI in part 3 (0: skip it)."
    )
    args = parser.parse_args()
    settings = Settings()
    engine = QueryEngine(settings)
    questions = [case.question for case in load_cases(settings.eval_questions).cases]
    if not engine.retrieve(questions[0]):
        raise SystemExit("the index is empty: run `make ingest` first")

    work = Path(tempfile.mkdtemp(prefix="loadtest-"))
    database_url = f"sqlite:///{work / 'feedback.db'}"
    env = {**LIFTED, "RAG_FEEDBACK_DB_URL": database_url}
{%- if cookiecutter.llm != "none" %}
    # Passages mode: a model address where nothing listens answers at once, with the passages.
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    passages = {**env, "RAG_LLM_BASE_URL": nowhere, "OPENAI_API_KEY": ""}
{%- else %}
    passages = env
{%- endif %}
    print(
        f"1. passages mode, {len(questions)} questions from {settings.eval_questions}, "
        f"{args.processes} UI process(es)"
    )
    columns = ("clients", "answered", "errors", "q/s", "p50 s", "p95 s", "max s")
    print(" ".join(f"{name:>8}" for name in columns))
    runs = []
    with contextlib.ExitStack() as stack:
        # One after another: the first creates the feedback database's tables.
        urls = [
            stack.enter_context(ui(passages, work / f"ui-{n}.log")) for n in range(args.processes)
        ]
        for url in urls:
            load([url], 1, 3, questions)  # warm: the first answers pay for loading
        before = stored(database_url)
        for clients in map(int, args.clients.split()):
            run = load(urls, clients, args.per_client, questions)
            runs.append(run)
            counts = (run["clients"], run["answered"], run["errors"])
            times = (run["throughput"], run["p50"], run["p95"], run["max"])
            print(" ".join([*(f"{n:>8}" for n in counts), *(f"{t:>8.2f}" for t in times)]))
        answered = sum(run["answered"] for run in runs)
        print(f"stored {stored(database_url) - before} interactions for {answered} answers")
    if len(runs) > 1:
        ratio = runs[-1]["throughput"] / runs[0]["throughput"]
        most, fewest = runs[-1]["clients"], runs[0]["clients"]
        print(f"throughput at {most} clients: {ratio:.2f}x that at {fewest}")
{%- if cookiecutter.llm != "none" %}

    best = engine.search(UNCOVERED)[1] or 0.0
    covered = max(questions, key=lambda q: engine.search(q)[1] or 0.0)
    threshold = (best + (engine.search(covered)[1] or 0.0)) / 2
    # Between the two questions' closest chunks: the uncovered one gets passages at once.
    env = {**env, "RAG_MIN_SIMILARITY": f"{threshold:.3f}"}
    alone, during = hung_model_delay(env, work, covered)
    print(
        f"2. a hung language model (first-token deadline {HUNG_FIRST_TOKEN_S:.0f} s): another "
        f"visitor's passages answer took {alone:.2f} s alone, {during:.2f} s during a hung answer "
        f"(+{during - alone:.2f} s)"
    )
{%- endif %}
    if args.trace_questions:
        latencies = tracing_cost(passages, work, questions, args.trace_questions)
        off, on = (sorted(latencies[name]) for name in ("off", "on"))
        p50 = [statistics.median(v) * 1000 for v in (off, on)]
        p95 = [v[int(0.95 * (len(v) - 1))] * 1000 for v in (off, on)]
        print(
            f"3. tracing, {len(on)} answers each: p50 {p50[0]:.1f} ms untraced, {p50[1]:.1f} ms "
            f"traced ({p50[1] - p50[0]:+.1f} ms); p95 {p95[0]:.1f} / {p95[1]:.1f} ms; "
            f"{Collector.batches} batches of spans received"
        )
    print(f"logs in {work}")


if __name__ == "__main__":
    main()
