"""The maintainers' page, ``/maintainers``: how the app is used and where the docs fall short, in plots,
and the answers waiting for review, with approve and reject.

It is a Gradio app of its own behind a sign-in that admits members of ``maintainers_group`` only:
anyone else gets the login page and nothing behind it, not the page, its configuration or its API
(401). Every event checks the group again. Without a sign-in configured (``auth_users``, or an auth
proxy that sends groups) there is no page.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gradio as gr
import pandas as pd

from ..config import Account, Settings
from ..feedback.store import FeedbackStore
from ..feedback.usage import Usage, period_start
from ..insights.runs import TopicRun, latest_run
from ..insights.topics import Topic, gaps
from .accounts import Login
from .visitors import header_name

PATH = "/maintainers"
PERIODS = ["24h", "7d", "30d", "90d"]
SHOWN = 15  # rows of each table


@dataclass(frozen=True)
class Figures:
    """What the page shows for one period."""

    usage: Usage
    run: TopicRun | None
    demoted: list[tuple[str, int, int]]  # document, helpful, unhelpful answers citing it
    waiting: pd.DataFrame


def maintainer_accounts(settings: Settings) -> dict[str, Account]:
    """The UI's accounts in the maintainers' group, by name."""
    return {
        name: account
        for name, account in settings.auth_users.items()
        if settings.maintainers_group in account.groups
    }


def maintainers_login(settings: Settings) -> Login | None:
    """The login check of the page: the UI's accounts in the maintainers' group, or None."""
    return Login(maintainer_accounts(settings)) if settings.auth_users else None


def mount_maintainers_page(api: Any, settings: Settings, feedback: FeedbackStore) -> bool:
    """Serve the page at ``PATH`` of ``api`` behind its sign-in; False (no page) without one."""
    login, proxied = maintainers_login(settings), maintainers_dependency(settings)
    if login is None and proxied is None:
        return False
    gr.mount_gradio_app(
        api,
        maintainers_page(settings, feedback),
        path=PATH,
        root_path=f"{settings.ui_root_path}{PATH}" if settings.ui_root_path else None,
        auth=login,
        auth_dependency=proxied,
        footer_links=["gradio"],
        enable_monitoring=False,
        max_file_size=0,
        show_error=False,
    )
    return True


def maintainers_dependency(settings: Settings) -> Callable[[Any], str | None] | None:
    """Behind an auth proxy that lists groups: the user's name if the maintainers' group is one."""
    if settings.auth_users or not (settings.auth_header and settings.auth_groups_header):
        return None
    user_header, groups_header = settings.auth_header, settings.auth_groups_header

    def maintainer(request: Any) -> str | None:
        headers = getattr(request, "headers", {})
        listed = str(headers.get(groups_header) or "").split(",")
        if settings.maintainers_group not in {group.strip() for group in listed}:
            return None
        return header_name(headers.get(user_header))

    return maintainer


def figures(feedback: FeedbackStore, settings: Settings, period: str) -> Figures:
    since = period_start(period)
    usage = feedback.usage(since)
    with feedback.engine.connect() as connection:
        run = latest_run(connection)
    standings = feedback.standings()
    demoted = sorted(
        ((doc, up, down) for doc, (up, down) in standings.items() if down > up),
        key=lambda row: row[1] - row[2],
    )[:SHOWN]
    return Figures(usage, run, demoted, waiting_for_review(feedback))


def waiting_for_review(feedback: FeedbackStore) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": rated.interaction_id,
                "question": rated.question,
                "answer": " ".join(rated.answer.split())[:300],
                "net votes": rated.net_score,
                "raters": rated.raters,
            }
            for rated in feedback.awaiting_review(SHOWN)
        ],
        columns=["id", "question", "answer", "net votes", "raters"],
    )


def questions_per_day(usage: Usage) -> pd.DataFrame:
    rows = [
        {"day": day["day"], "answered by": mode, "questions": count}
        for day in usage.days
        for mode, count in day["answered_by"].items()
    ]
    return pd.DataFrame(rows, columns=["day", "answered by", "questions"])


def helpful_per_day(usage: Usage) -> pd.DataFrame:
    rows = [
        {"day": day["day"], "helpful %": 100 * day["helpful"] / rated}
        for day in usage.days
        if (rated := day["helpful"] + day["not_helpful"])
    ]
    return pd.DataFrame(rows, columns=["day", "helpful %"])


def latency_by_stage(usage: Usage) -> pd.DataFrame:
    """One bar per stage and percentile, side by side (Gradio's bar plot stacks by colour, and a
    p95 stacked on a p50 would read as their sum)."""
    rows = [
        {"bar": f"{stage} {name}", "stage": stage, "percentile": name, "ms": ms}
        for stage, percentiles in usage.stage_ms.items()
        for name, ms in percentiles.items()
    ]
    return pd.DataFrame(rows, columns=["bar", "stage", "percentile", "ms"])


def spending_per_day(usage: Usage) -> pd.DataFrame:
    rows = [
        {
            "day": day["day"],
            "tokens": day["prompt_tokens"] + day["completion_tokens"],
            "USD": day["cost"],
        }
        for day in usage.days
    ]
    return pd.DataFrame(rows, columns=["day", "tokens", "USD"])


def topic_table(topics: list[Topic], with_documents: bool = False) -> pd.DataFrame:
    rows = []
    for topic in topics[:SHOWN]:
        helpful = "unrated" if topic.helpful_rate is None else f"{topic.helpful_rate:.0%}"
        row = {
            "topic": topic.label,
            "questions": topic.questions,
            "people": topic.askers,
            "helpful": helpful,
            "not covered": f"{topic.weak_rate:.0%}",
            "examples": " · ".join(topic.examples),
        }
        if with_documents:
            row["closest documents"] = ", ".join(topic.documents)
        rows.append(row)
    return pd.DataFrame(rows)


def summary(usage: Usage, run: TopicRun | None) -> str:
    since = f"{datetime.fromisoformat(usage.since):%Y-%m-%d %H:%M %Z}"
    if not usage.questions:
        return f"Since {since}: no questions yet."
    rate = "no ratings" if usage.helpful_rate is None else f"{usage.helpful_rate:.0%} helpful"
    cost = f"${usage.cost:.2f}" + (
        f" (and unknown for {usage.unpriced_answers} answers)" if usage.unpriced_answers else ""
    )
    topics = (
        f"Topics from {run.created_at:%Y-%m-%d %H:%M} over {run.questions:,} questions."
        if run and run.created_at
        else "No topics yet: run the question_topics DAG."
    )
    return (
        f"**{usage.questions:,} questions** since {since}, {rate}, "
        f"latency p50 {usage.latency_ms_p50} ms and p95 {usage.latency_ms_p95} ms, "
        f"{usage.prompt_tokens + usage.completion_tokens:,} tokens costing {cost}. {topics}"
    )


def maintainers_page(settings: Settings, feedback: FeedbackStore) -> gr.Blocks:
    members = set(maintainer_accounts(settings))
    proxied = maintainers_dependency(settings)

    def check(request: gr.Request | None) -> str:
        """The maintainer's name; anyone else is refused, whatever reached this far."""
        name = getattr(request, "username", None)
        if name in members:
            return str(name)
        if proxied is not None and (user := proxied(request)):
            return user
        raise gr.Error("Only maintainers may see this page.")

    def show(period: str, request: gr.Request) -> tuple[Any, ...]:
        check(request)
        shown = figures(feedback, settings, period)
        topics = shown.run.topics if shown.run else []
        needing = gaps(topics, settings.gap_rate, settings.gaps_shown)
        demoted = pd.DataFrame(shown.demoted, columns=["document", "helpful", "not helpful"])
        cited = pd.DataFrame(shown.usage.most_cited, columns=["document_id", "answers"])
        latency, spending = latency_by_stage(shown.usage), spending_per_day(shown.usage)
        return (
            summary(shown.usage, shown.run),
            questions_per_day(shown.usage),
            helpful_per_day(shown.usage),
            gr.BarPlot(latency, sort=list(latency["bar"])),  # in the order the stages run
            spending,
            spending,
            topic_table(topics),
            topic_table(needing, with_documents=True),
            cited,
            demoted,
            shown.waiting,
        )

    def decide(decision: str) -> Callable[..., tuple[str, pd.DataFrame]]:
        def apply(interaction_id: float | None, request: gr.Request) -> tuple[str, pd.DataFrame]:
            reviewer = check(request)
            if interaction_id is None:
                return "Pick an answer's id first.", waiting_for_review(feedback)
            try:
                feedback.review(int(interaction_id), decision, reviewer)
                said = f"Answer {int(interaction_id)}: {decision}d by {reviewer}."
            except LookupError as error:
                said = str(error)
            return said, waiting_for_review(feedback)

        return apply

    with gr.Blocks(title=f"{settings.project_name}: maintainers") as page:
        gr.Markdown(f"# {settings.project_name}: how it is used, and where the docs fall short")
        with gr.Row():
            period = gr.Radio(PERIODS, value="7d", label="Period", scale=3)
            refresh = gr.Button("Refresh", scale=1)
        headline = gr.Markdown(elem_id="headline")
        with gr.Row():
            per_day = gr.BarPlot(
                x="day", y="questions", color="answered by", title="Questions per day"
            )
            helpful = gr.LinePlot(
                x="day", y="helpful %", title="Helpful ratings, per day", y_lim=[0, 100]
            )
        stages = gr.BarPlot(
            x="bar",
            y="ms",
            color="percentile",
            title="Latency by stage (ms)",
            x_title="stage",
            x_label_angle=-30,
        )
        with gr.Row():
            tokens = gr.BarPlot(
                x="day", y="tokens", title="Language-model tokens per day", y_lim=[0, None]
            )
            spent = gr.LinePlot(
                x="day", y="USD", title="Language-model cost per day (USD)", y_lim=[0, None]
            )
        gr.Markdown("## What people ask")
        topics = gr.Dataframe(label="Top topics (latest run)", wrap=True)
        gr.Markdown("## Where the docs fall short")
        gap_table = gr.Dataframe(label="Gaps: the most needed first", wrap=True)
        with gr.Row():
            cited = gr.Dataframe(label="Most cited documents")
            demoted = gr.Dataframe(label="Most demoted documents (more unhelpful than helpful)")
        gr.Markdown("## Answers waiting for review")
        waiting = gr.Dataframe(label="Rated helpful, not yet approved or rejected", wrap=True)
        with gr.Row():
            chosen = gr.Number(label="Answer id", precision=0)
            approve = gr.Button("Approve", variant="primary")
            reject = gr.Button("Reject", variant="stop")
        decided = gr.Markdown()
        outputs = [
            headline,
            per_day,
            helpful,
            stages,
            tokens,
            spent,
            topics,
            gap_table,
            cited,
            demoted,
            waiting,
        ]
        for trigger in (page.load, refresh.click, period.change):
            trigger(show, inputs=period, outputs=outputs, api_visibility="private")
        for button, decision in ((approve, "approve"), (reject, "reject")):
            button.click(
                decide(decision),
                inputs=chosen,
                outputs=[decided, waiting],
                api_visibility="private",
            )
    return page
