"""Command line: ``{{ cookiecutter.package_name }} ingest PATH``, ``ask "..."``, ``eval``, ``serve``."""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .answers import CONTROL_CHARACTERS  # escape sequences start with them
{%- if cookiecutter.embeddings == "local" %}
from .config import ChunkingStrategy, EmbeddingBackend, Settings
{%- else %}
from .config import ChunkingStrategy, Settings
{%- endif %}

if TYPE_CHECKING:
{%- if cookiecutter.llm != "none" %}
    from collections.abc import Sequence

    from .evaluation.cases import EvalCase
{%- endif %}
    from .index.versions import VersionedStore

ABOUT = "{{ cookiecutter.project_name }}: {{ cookiecutter.description }}"
app = typer.Typer(help=ABOUT, no_args_is_help=True)
console = Console()


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


Period = Annotated[
    str, typer.Option(help="A period back from now (7d, 24h, 30m) or a date (2026-11-01).")
]


class ClusterMethod(StrEnum):
    hdbscan = "hdbscan"
    agglomerative = "agglomerative"


PROGRESS_COLUMNS = (
    TextColumn("{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeRemainingColumn(),
)


@app.command()
def ingest(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Ingest this folder: the configured source that reads it, else a source of its "
            "own beside the others (default: the configured sources)."
        ),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Read only this configured source (repeatable).")
    ] = None,
    strategy: Annotated[ChunkingStrategy | None, typer.Option(help="Chunking strategy.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Tokens per chunk.")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="Tokens shared by neighbouring chunks.")
    ] = None,
    full_refresh: Annotated[bool, typer.Option(help="Drop the index and rebuild it.")] = False,
) -> None:
    """Ingest the sources: only new and changed documents are embedded; removed ones are deleted."""
{%- if cookiecutter.llm != "none" %}
    from .feedback.verified import promote_answers
{%- endif %}
    from .ingestion.pipeline import run_ingest
    from .ingestion.planning import IngestPlan

    settings = Settings()
    with Progress(*PROGRESS_COLUMNS, console=console) as progress:
        task = progress.add_task("Scanning", total=None)

        def on_plan(plan: IngestPlan) -> None:
            progress.update(task, description="Embedding", total=len(plan.to_ingest))

        summary = run_ingest(
            settings,
            folder=path,
            sources=source,
            strategy=strategy,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            full_refresh=full_refresh,
            on_plan=on_plan,
            progress=lambda n: progress.advance(task, n),
{%- if cookiecutter.llm != "none" %}
            # A new index version gets the verified answers before it goes live.
            before_release=promote_answers,
{%- endif %}
        )
    console.print(summary.as_text(), highlight=False)
    if not summary.complete:  # for scripts: the rest was ingested, but not everything
        raise typer.Exit(1)


@app.command()
def sources() -> None:
    """List the sources the index holds documents of, and how many of each."""
    from .ingestion.planning import indexed_sources
    from .ingestion.sources import source_configs

    settings = Settings()  # read once: the configured sources and the index must agree
    configured = {config.name for config in source_configs(settings)}
    held = indexed_sources(settings)
    for name in sorted(configured | set(held)):
        note = "configured" if name in configured else "not configured: remove-source deletes it"
        console.print(f"{name}: {held.get(name, 0)} documents ({note})", highlight=False)


@app.command("remove-source")
def remove_source(
    names: Annotated[list[str], typer.Argument(help="Sources whose documents to delete.")],
) -> None:
    """Delete every document of these sources from the index (for example an ad-hoc folder)."""
    from .ingestion.planning import remove_sources

    console.print(f"deleted {remove_sources(Settings(), names)} documents")


@app.command()
def versions() -> None:
    """List the index versions: which one answers (live), what each holds and how it was built."""
    from .index.store import open_store

    store = open_store(Settings())
    live = store.live_version()
    for version in store.versions():
        mark = "live" if version.name == live else version.state
        console.print(
            f"{version.name}  {mark:8}  {version.chunks} chunks  created {version.created_at or '?'}"
            f"  model {version.embedding_model or '?'}  pipeline {version.pipeline or '?'}",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def promote(
    version: Annotated[
        str | None,
        typer.Argument(help="Default: the newest complete version newer than the live one."),
    ] = None,
) -> None:
    """Make a complete index version live: every reader answers from it within seconds."""
    from .index.versions import promote as promote_version

    switch_live(lambda store: promote_version(store, version))


@app.command()
def rollback() -> None:
    """Make the index version that was live before the current one live again."""
    from .index.versions import rollback as rollback_version

    switch_live(rollback_version)


def switch_live(switch: Callable[["VersionedStore"], str]) -> None:
    """Point readers at the version ``switch`` chooses; exit 1 with the reason if it refuses. Warn
    when the configuration would build the index otherwise: the next ingestion run would rebuild."""
    from .index.store import open_store
    from .index.versions import VersionError, by_name, rebuild_reason
    from .ingestion.planning import pipeline_of

    settings = Settings()
    store = open_store(settings)
    try:
        live = switch(store)
    except VersionError as error:
        console.print(f"[red]{printable(str(error))}[/red]", highlight=False)
        raise typer.Exit(1) from error
    console.print(f"{live} is live", highlight=False)
    version = by_name(store.versions(), live)
    if drift := rebuild_reason(version, settings.embedding_model, pipeline_of(settings), False):
        console.print(
            f"[yellow]The configuration builds the index otherwise ({drift}): the next ingestion "
            f"run will rebuild it as configured. To keep {live}, configure its settings.[/yellow]",
            highlight=False,
            soft_wrap=True,
        )


{%- if cookiecutter.vector_store == "chroma" %}


@app.command("stop-chroma")
def stop_chroma() -> None:
    """Stop the project's own Chroma server (the next command that needs it starts it again)."""
    from .index.chroma_server import stop_server

    stopped = stop_server(Settings().data_dir)
    console.print("stopped the Chroma server" if stopped else "no Chroma server was running")
{%- endif %}


@app.command()
def ask(question: str) -> None:
    """Ask one question and print the answer with its sources."""
    from .answers import QuestionError, validate_question

    settings = Settings()
    try:  # checked before the model loads, which takes seconds
        question = validate_question(question, settings.max_question_chars)
    except QuestionError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    from .answering.engine import QueryEngine

    stream = QueryEngine(settings).stream(question)
    for piece in stream:
        console.out(printable(piece), end="", highlight=False)
    console.print()
    if stream.mode != "passages":  # passages name their sources already
        for source in stream.sources:
            line = f"[{source.number}] {source.heading} ({source.uri})"
            console.out(printable(line), highlight=False)


def printable(text: str) -> str:
    """Text from documents without terminal control sequences (a title change, a cleared screen)."""
    return CONTROL_CHARACTERS.sub("", text)


@app.command("eval")
def evaluate(
    questions: Annotated[
        Path | None,
        typer.Argument(help="A question set, JSON lines (default: RAG_EVAL_QUESTIONS)."),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(help="Show the change from the last saved run on the same questions."),
    ] = True,
    save: Annotated[bool, typer.Option(help="Save this run for later comparisons.")] = True,
    max_drop: Annotated[
        float, typer.Option(help="Exit 1 when hit@5 or MRR@10 fell more than this.")
    ] = 0.02,
    misses: Annotated[int, typer.Option(help="Misses to list.")] = 10,
{%- if cookiecutter.llm != "none" %}
    answers: Annotated[
        int,
        typer.Option(
            min=0, help="Also answer the first N questions with the language model: citations."
        ),
    ] = 0,
    judge: Annotated[
        bool,
        typer.Option(help="With --answers: a model grades each answer (RAG_JUDGE_MODEL)."),
    ] = False,
{%- endif %}
) -> None:
    """Score retrieval on a question set: hit@1/3/5/10, MRR@10, latency, and the misses{% if cookiecutter.llm != "none" %};
    with --answers, the model's answers too{% endif %}."""
    from .evaluation.cases import CaseError, load_cases
    from .evaluation.records import EvalRecords
    from .evaluation.retrieval import evaluate_retrieval
    from .evaluation.runner import compare as compare_runs
    from .evaluation.runner import regressed, report
{%- if cookiecutter.llm != "none" %}

    if judge and not answers:
        raise typer.BadParameter("the judge grades answers: add --answers N", param_hint="--judge")
{%- endif %}

    settings = Settings()
    try:
        question_set = load_cases(questions or settings.eval_questions)
    except CaseError as error:
        console.print(f"[red]{printable(str(error))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from error
    with Progress(*PROGRESS_COLUMNS, console=console, transient=True) as progress:
        task = progress.add_task("Asking", total=len(question_set.cases))
        run = evaluate_retrieval(settings, question_set, lambda n: progress.advance(task, n))
    asked = {case.id: case.question for case in question_set.cases}
    console.out(printable(report(run, asked, misses)), highlight=False)
{%- if cookiecutter.llm != "none" %}
    if answers:
        report_text, run.answers = _check_answers(settings, question_set.cases[:answers], judge)
        console.out("\n" + printable(report_text), highlight=False)
{%- endif %}
    records = EvalRecords(settings.feedback_url)
    previous = records.last(run.digest) if compare else None
    if previous:
        console.print(f"\nsince the run of {previous.created_at}:")
        console.out("\n".join(compare_runs(run, previous.figures, max_drop)), highlight=False)
    if save:
        console.print(f"saved as evaluation run {records.save(run)}")
    if previous and regressed(run.figures(), previous.figures, max_drop):
        raise typer.Exit(1)
{%- if cookiecutter.llm != "none" %}


def _check_answers(
    settings: Settings, cases: "Sequence[EvalCase]", judge: bool
) -> tuple[str, dict[str, float]]:
    """The model's answers to ``cases``, checked (and graded): the report and its figures."""
    from .answering.engine import QueryEngine, language_model
    from .evaluation.answer_quality import answer_figures, answer_report, check_answers, llm_judge

    grader, judge_model = None, None
    if judge:
        # Grades, not prose: the same every time, and a few tokens.
        graded_by = settings.model_copy(
            update={
                "llm_model": settings.judge_model or settings.llm_model,
                "llm_temperature": 0.0,
                "llm_max_tokens": 64,
            }
        )
        if (llm := language_model(graded_by)) is not None:
            grader, judge_model = llm_judge(llm), graded_by.llm_model
        else:
            console.print("no judge: no language model can be reached (OPENAI_API_KEY is not set)")
    # The project's own settings (retrieval was scored 10 deep): answers as the app gives them.
    engine = QueryEngine(settings)
    with Progress(*PROGRESS_COLUMNS, console=console, transient=True) as progress:
        task = progress.add_task("Answering", total=len(cases))
        checks = check_answers(engine.ask, cases, grader, lambda n: progress.advance(task, n))
    return answer_report(checks, judge_model), answer_figures(checks)
{%- endif %}


def _override(document_id: str, action: str | None) -> None:
    from .feedback.store import FeedbackStore

    FeedbackStore(Settings().feedback_url).set_override(document_id, action)


@app.command()
def pin(
    document_id: Annotated[str, typer.Argument(help="Such as local:guide/install.md.")],
) -> None:
    """Rank a document higher whenever it matches (a maintainer's choice; see ``sources``)."""
    _override(document_id, "pin")
    console.print(f"pinned {printable(document_id)}; serving processes apply it within a minute")


@app.command()
def hide(document_id: Annotated[str, typer.Argument(help="Such as local:old/faq.md.")]) -> None:
    """Never show a document in answers, until ``unpin``."""
    _override(document_id, "hide")
    console.print(f"hid {printable(document_id)}; serving processes apply it within a minute")


@app.command()
def unpin(document_id: Annotated[str, typer.Argument(help="A pinned or hidden document.")]) -> None:
    """Take back a pin or a hide."""
    _override(document_id, None)
    console.print(f"{printable(document_id)} ranks on its own merits again")


@app.command()
def review(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
) -> None:
    """List answers rated helpful that await a maintainer's ``approve`` or ``reject``."""
    from .feedback.store import FeedbackStore

    for rated in FeedbackStore(Settings().feedback_url).awaiting_review(limit):
        console.out(
            printable(
                f"{rated.interaction_id}  net {rated.net_score:+d}, {rated.raters} raters  "
                f"{rated.question}\n    {' '.join(rated.answer.split())[:300]}"
            ),
            highlight=False,
        )


def _review(interaction_id: int, decision: str) -> None:
    import getpass

    from .feedback.store import FeedbackStore

    try:
        FeedbackStore(Settings().feedback_url).review(interaction_id, decision, getpass.getuser())
    except LookupError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from error


@app.command()
def approve(interaction_id: Annotated[int, typer.Argument(help="As ``review`` lists it.")]) -> None:
    """Let others see an answer (landing view) and the feedback loop reuse it, whatever its votes."""
    _review(interaction_id, "approve")
    console.print(f"approved answer {interaction_id}")


@app.command()
def reject(interaction_id: Annotated[int, typer.Argument(help="As ``review`` lists it.")]) -> None:
    """Never show or reuse an answer, however it is rated."""
    _review(interaction_id, "reject")
    console.print(f"rejected answer {interaction_id}")


@app.command()
def report(
    since: Period = "7d",
    output: Annotated[
        ReportFormat, typer.Option("--format", help="json: one object, for your monitoring.")
    ] = ReportFormat.text,
) -> None:
    """What people asked and how it went: questions per day and how they were answered, ratings,
    latency by stage, tokens and cost, and the documents answers cite most."""
    import json
    from dataclasses import asdict

    from .feedback.store import FeedbackStore

    usage = FeedbackStore(Settings().feedback_url).usage(start_of(since))
    if output == ReportFormat.json:
        typer.echo(json.dumps(asdict(usage), indent=2))
    else:
        console.out(printable(usage.as_text()), highlight=False)


def start_of(since: str) -> datetime:
    """The start of the period ``since`` names; exit 2 with what is accepted if it names none."""
    from .feedback.usage import period_start

    try:
        return period_start(since)
    except ValueError as error:
        console.print(f"[red]{printable(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from error


@app.command()
def topics(
    since: Period = "28d",
    method: Annotated[
        ClusterMethod,
        typer.Option(help="agglomerative merges to a distance; hdbscan by density, less memory."),
    ] = ClusterMethod.agglomerative,
) -> None:
    """What people ask: the period's questions grouped into topics, each with its count, ratings,
    how often the docs did not cover it and example questions (the question_topics DAG runs this
    weekly). Topics fewer than 3 people asked about are not shown."""
    from .insights.question_topics import run_question_topics

    found = run_question_topics(Settings(), start_of(since), method.value)
    console.out(printable(found.as_text()), highlight=False)


@app.command()
def gaps() -> None:
    """Where the documentation falls short: the latest topics whose questions the docs did not cover,
    or whose answers people rated not helpful, with example questions and the closest documents."""
    from .insights.question_topics import current_gaps

    run, found = current_gaps(Settings())
    if run is None:
        console.out("no topics yet: run `topics` or the question_topics DAG first")
    elif not found:
        console.out(f"no gaps among the {len(run.topics)} topics of the latest run")
    else:
        console.out(printable(run.as_text(found)), highlight=False)


@app.command("hash-password")
def hash_password(
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from the first line of stdin (for scripts).")
    ] = False,
) -> None:
    """Hash a password for ``RAG_AUTH_USERS`` (asked twice, never echoed)."""
    import sys

    from .web.accounts import hash_password as hashed

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        console.out(hashed(password), highlight=False)
    except ValueError as error:  # too short or too long: say so, and ask again next time
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from error


@app.command("propose-eval-cases")
def propose_eval_cases(
    output: Annotated[Path, typer.Option(help="Proposals are appended here, to review.")] = Path(
        "eval/proposed.jsonl"
    ),
    min_net_score: Annotated[
        int, typer.Option(min=1, help="Helpful minus unhelpful ratings an answer needs.")
    ] = 2,
) -> None:
    """Propose evaluation cases from answers rated helpful; move the good ones into the set."""
    from .evaluation.proposals import propose_cases
    from .feedback.store import FeedbackStore

    settings = Settings()
    store = FeedbackStore(settings.feedback_url)
    added = propose_cases(store, settings.eval_questions, output, min_net_score)
    console.print(f"{added} new proposals in {output}", highlight=False)


{%- if cookiecutter.embeddings == "local" %}


@app.command()
def finetune(
    negative_control: Annotated[
        bool, typer.Option(help="Train on shuffled pairs: a check that such a model is refused.")
    ] = False,
) -> None:
    """Fine-tune the embedding model on the feedback and keep it only if it retrieves better: the
    finetune_embeddings DAG's steps, in this process."""
    from .evaluation.cases import CaseError
    from .evaluation.finetune.experiment import ExperimentError, run_experiment

    try:
        run_experiment(
            Settings(),
            negative_control=negative_control,
            say=lambda line: console.out(printable(line), highlight=False),
        )
    except (ExperimentError, CaseError) as error:
        console.print(f"[red]{printable(str(error))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


{%- endif %}


@app.command()
def experiment(
    embedding_model: Annotated[
        str | None, typer.Option(help="Another embedding model: a name or a local folder.")
    ] = None,
{%- if cookiecutter.embeddings == "local" %}
    embedding_backend: Annotated[
        EmbeddingBackend | None, typer.Option(help="Another runtime of the model.")
    ] = None,
{%- endif %}
    chunking: Annotated[ChunkingStrategy | None, typer.Option(help="Another chunking.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Tokens per chunk.")] = None,
    chunk_overlap: Annotated[
        int | None, typer.Option(help="Tokens neighbouring chunks share.")
    ] = None,
    passage_window: Annotated[
        int | None, typer.Option(help="Neighbouring chunks a match is read with.")
    ] = None,
    margin: Annotated[
        float, typer.Option(min=0, max=1, help="MRR@10 the candidate must gain.")
    ] = 0.02,
) -> None:
    """Try another embedding model or chunking: build an index version with it beside the live one
    (which keeps answering), score both on the question set, and keep it, not live, only if it
    retrieves better; adopting it is changing the configuration and `promote`."""
    from .evaluation.candidates import ExperimentError
    from .evaluation.cases import CaseError
    from .evaluation.experiments import ConfigurationError
    from .evaluation.reembed import run_reembed_experiment

    chosen = {
        "embedding_model": embedding_model,
{%- if cookiecutter.embeddings == "local" %}
        "embedding_backend": embedding_backend,
{%- endif %}
        "chunking": chunking,
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "passage_window": passage_window,
    }
    try:
        run_reembed_experiment(
            Settings(),
            {name: value for name, value in chosen.items() if value is not None},
            margin=margin,
            say=lambda line: console.out(printable(line), highlight=False),
        )
    except (ExperimentError, CaseError, ConfigurationError) as error:
        console.print(f"[red]{printable(str(error))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from error


@app.command()
def experiments(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 10,
) -> None:
    """List the experiments that built an index version to compare with the live one: the decision,
    both versions' figures, and what the experiment cost."""
    from .evaluation.records import EvalRecords

    found = EvalRecords(Settings().feedback_url).experiments(limit)
    for record in found:
        console.out(printable(record.as_text()), highlight=False)
    if not found:
        console.print("no experiments yet: see `experiment --help`{% if cookiecutter.embeddings == "local" %} and `finetune --help`{% endif %}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 7860,
) -> None:
    """Start the web UI."""
    from .web.app import serve as serve_ui

    console.print(f"Starting the UI at http://{host}:{port}")
    serve_ui(Settings(), host=host, port=port)
