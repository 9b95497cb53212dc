"""The Gradio app: a conversation about the documentation, with sources and ratings.

Follow-up questions are read with the turns before them (see ``engine``). Each answer streams in; its
``[n]`` citations link to the sources listed under it as cards, and each answer can be rated, once it
exists, helpful or not, with an optional comment. The landing view says what the app answers and offers
the recent questions whose answers passed the sharing bar. System fonts only: it needs no internet.

Nothing a visitor sends names a row: answers and ratings are found through the session's own state on
the server, so one visitor can neither rate another's answer nor rate one answer twice.
"""

import html
import logging
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gradio as gr
from fastapi import FastAPI
from gradio.components.chatbot import ExampleMessage

from ..answering.engine import QueryEngine
from ..answers import QuestionError
from ..config import Settings
from ..feedback.sharing import Bar
from ..feedback.store import FeedbackStore
from ..index.embeddings import use_model_threads
from ..security.redaction import describe, describe_fully
from .accounts import ClientAddressMiddleware, Login
from .health import add_health_routes
from .limits import RateLimit
from .maintainers import mount_maintainers_page
from .views import answer_view, landing_text, link_citations
from .visitors import Visitor, identify, proxy_user

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
RECENT_QUESTIONS = 6
SHUTDOWN_GRACE_S = 10
MAX_COMMENT_CHARS = 1000
HELPFUL, NOT_HELPFUL = "Like", "Dislike"  # the names Gradio draws as thumbs
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
THEME = gr.themes.Soft(primary_hue="indigo", font=SYSTEM_FONTS, font_mono=MONO_FONTS)
CSS = """
.gradio-container { max-width: 920px !important; margin: 0 auto; }
.sources { margin-top: 0.75em; font-size: 0.92em; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 0.35em 0.7em; margin: 0.35em 0; }
.source-card summary { cursor: pointer; }
.source-card p { white-space: pre-wrap; margin: 0.4em 0; }
.source-where { color: var(--body-text-color-subdued); word-break: break-all; }
#rating-status { min-height: 1.5em; }
.message-row:has(.unsaved-answer) + .message-buttons :is([aria-label="Like"], [aria-label="Dislike"])
  { display: none; }
"""
# Shown under an answer that the feedback database could not record: its thumbs are hidden (above).
UNSAVED = (
    '\n\n<p class="unsaved-answer">'
    "<em>This answer could not be saved, so it cannot be rated.</em></p>"
)
NOT_RATEABLE = "Only saved answers can be rated."


@dataclass
class Conversation:
    """What the server keeps of one browser session's conversation (never sent to the browser)."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (question searched, answer text)
    interactions: dict[int, int] = field(default_factory=dict)  # message index -> interaction id
    ratings: dict[int, int] = field(default_factory=dict)  # interaction id -> its rating here
    last_rating: int | None = None  # the rating a comment goes to


def pick_starter(selection: gr.SelectData) -> str:
    """The starter question someone clicked on the landing view."""
    return str(selection.value["text"])


def build_app(
    settings: Settings, engine: QueryEngine | None = None, feedback: FeedbackStore | None = None
) -> gr.Blocks:
    engine = engine or QueryEngine(settings)
    feedback = feedback or FeedbackStore(settings.feedback_url)
    bar = Bar.of(settings)
    asking = RateLimit(settings.ui_questions_per_minute)
    rating = RateLimit(settings.ui_ratings_per_minute)

    def visitor(request: gr.Request | None) -> Visitor:
        return identify(request, settings, feedback.rater_of)

    def starters(access: tuple[str, ...]) -> list[ExampleMessage]:
        questions = feedback.recent_good_questions(RECENT_QUESTIONS, bar, access)
        return [ExampleMessage(text=q) for q in questions]

    def respond(
        message: str,
        chat: list[dict[str, Any]],
        conversation: Conversation,
        request: gr.Request,
    ) -> Iterator[tuple[list[dict[str, Any]], str, Conversation]]:
        if not chat:  # an empty conversation starts afresh, whatever this session asked before
            conversation = Conversation()
        chat = [*chat, {"role": "user", "content": message}]
        who = visitor(request)
        if not asking.allow(who.client):
            notice = (
                f"You can ask {asking.per_minute} questions a minute here: please wait a moment."
            )
            chat.append({"role": "assistant", "content": f"_{notice}_"})
            yield chat, message, conversation  # the question stays in the box, to send again
            return
        asked = len(chat)
        try:
            yield from answered(message, chat, conversation, who)
        except Exception as error:  # a store or database down, a bug: details for the log only
            reference = secrets.token_hex(4)
            log.error("answering failed (reference %s): %s", reference, describe_fully(error))
            del chat[asked:]  # an answer cut short by the failure
            notice = (
                f"Sorry, something went wrong while answering (reference {reference}). "
                "Please try again in a moment."
            )
            chat.append({"role": "assistant", "content": f"_{notice}_"})
            yield chat, message, conversation  # the question stays in the box, to send again

    def answered(
        message: str, chat: list[dict[str, Any]], conversation: Conversation, who: Visitor
    ) -> Iterator[tuple[list[dict[str, Any]], str, Conversation]]:
        """The answer as it streams into ``chat``, recorded once complete."""
        try:
            stream = engine.stream(message, conversation.turns, who.access)
        except QuestionError as error:  # the asker's to fix: said as it is
            chat.append({"role": "assistant", "content": f"_{error}_"})
            yield chat, "", conversation
            return
        reply = {"role": "assistant", "content": ""}
        chat.append(reply)
        for _ in stream:
            if stream.mode != "passages":  # passages arrive whole and are shown as cards
                reply["content"] = link_citations(stream.text, stream.sources)
                yield chat, "", conversation
        answer = stream.answer()
        reply["content"] = answer_view(answer)
        conversation.turns.append((answer.question, answer.text))
        try:
            conversation.interactions[len(chat) - 1] = feedback.record_interaction(
                answer, asker=who.client
            )
        except Exception as error:  # the feedback database is down: the answer stands, unrated
            log.warning("could not record an answer: %s", describe(error))
            reply["content"] += UNSAVED
        yield chat, "", conversation

    def rate(
        data: gr.LikeData, conversation: Conversation, request: gr.Request
    ) -> tuple[str, dict[str, Any], Conversation]:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        interaction = conversation.interactions.get(index) if isinstance(index, int) else None
        if not isinstance(data.liked, bool):  # a rating taken back
            return "", gr.update(visible=False), conversation
        if interaction is None:  # a notice, or an answer that could not be saved
            return NOT_RATEABLE, gr.update(visible=False), conversation
        who = visitor(request)
        if not rating.allow(who.client):
            return "Too many ratings at once: please wait a minute.", gr.update(), conversation
        score = 1 if data.liked else -1
        if (rated := conversation.ratings.get(interaction)) is not None:
            feedback.update_rating(rated, score=score)  # changed their mind: one rating each
        else:
            rated = feedback.record_rating(interaction, score, rater=who.client)
            conversation.ratings[interaction] = rated
        conversation.last_rating = rated
        thanks = "Thanks, your rating was saved." + (
            "" if score > 0 else " What was missing? A comment helps us improve the docs."
        )
        return thanks, gr.update(visible=True, value=""), conversation

    def comment(
        text: str, conversation: Conversation, request: gr.Request
    ) -> tuple[str, dict[str, Any]]:
        if conversation.last_rating is None or not text.strip():
            return "", gr.update()
        if len(text) > MAX_COMMENT_CHARS:  # the page limits it too, but requests can be forged
            return f"Please keep comments under {MAX_COMMENT_CHARS:,} characters.", gr.update()
        if not rating.allow(visitor(request).client):
            return "Too many ratings at once: please wait a minute.", gr.update()
        feedback.update_rating(conversation.last_rating, comment=text)
        return "Thanks, your comment was saved.", gr.update(visible=False, value="")

    def new_conversation() -> tuple[list[dict[str, Any]], Conversation, str, dict[str, Any]]:
        return [], Conversation(), "", gr.update(visible=False, value="")

    def refresh_starters(request: gr.Request) -> dict[str, Any]:
        return gr.update(examples=starters(visitor(request).access) or None)

    with gr.Blocks(title=settings.project_name) as app:
        conversation = gr.State(lambda: Conversation())  # a factory: one per browser session
        with gr.Row(equal_height=True):
            gr.Markdown(f"### {html.escape(settings.project_name)}")
            new_button = gr.Button("New conversation", size="sm", scale=0, min_width=160)
        chatbot = gr.Chatbot(
            placeholder=landing_text(),
            examples=starters(tuple(settings.query_access)) or None,
            feedback_options=[HELPFUL, NOT_HELPFUL],
            buttons=["copy"],
            height="65vh",
            label="Conversation",
            show_label=False,
            elem_id="chat",
        )
        with gr.Row():
            question = gr.Textbox(
                placeholder="Ask a question about the documentation",
                show_label=False,
                max_lines=6,
                max_length=settings.max_question_chars,
                scale=8,
                elem_id="question",
                autofocus=True,
            )
            ask_button = gr.Button("Ask", variant="primary", scale=1, min_width=80)
        rating_status = gr.Markdown(elem_id="rating-status")
        rating_comment = gr.Textbox(
            placeholder="Add a comment to your rating (optional), then press Enter",
            show_label=False,
            visible=False,
            max_lines=3,
            max_length=MAX_COMMENT_CHARS,
            elem_id="rating-comment",
        )

        answer_io: dict[str, Any] = {
            "inputs": [question, chatbot, conversation],
            "outputs": [chatbot, question, conversation],
        }
        ask_button.click(respond, **answer_io, api_name="ask")
        question.submit(respond, **answer_io, api_visibility="private")
        chatbot.example_select(pick_starter, outputs=question, api_visibility="private").then(
            respond, **answer_io, api_visibility="private"
        )
        chatbot.like(
            rate,
            inputs=conversation,
            outputs=[rating_status, rating_comment, conversation],
            api_visibility="private",
        )
        rating_comment.submit(
            comment,
            inputs=[rating_comment, conversation],
            outputs=[rating_status, rating_comment],
            api_visibility="private",
        )
        fresh = [chatbot, conversation, rating_status, rating_comment]
        new_button.click(new_conversation, outputs=fresh, api_visibility="private")
        chatbot.clear(new_conversation, outputs=fresh, api_visibility="private")
        app.load(refresh_starters, outputs=chatbot, api_visibility="private")
    return app


def without_event_statistics(blocks: gr.Blocks) -> None:
    """Stop Gradio's queue from summarising every finished event for /monitoring (turned off here).

    It keeps the last 10,000 events and, after each one, builds a pandas table of them all: under
    load, a few milliseconds per answer that grow with the server's uptime, while holding the GIL."""
    queue = blocks._queue
    queue.ANALYTICS_MAX_EVENTS = 1
    queue.ANAYLTICS_CACHE_FREQUENCY = sys.maxsize  # (sic) Gradio's spelling


def web_app(
    settings: Settings, engine: QueryEngine | None = None, feedback: FeedbackStore | None = None
) -> FastAPI:
    """The UI as an ASGI app: the Gradio app at ``/`` and the health endpoints beside it."""
    engine = engine or QueryEngine(settings)
    feedback = feedback or FeedbackStore(settings.feedback_url)
    blocks = build_app(settings, engine, feedback).queue(
        default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_queue_size
    )
    without_event_statistics(blocks)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # uvicorn stops on SIGTERM by raising it again, so exit hooks never run: the last answers'
        # spans are sent here.
        engine.flush_traces()

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    add_health_routes(api, {"index": engine.check_index, "feedback": feedback.ping})
    options: dict[str, Any] = {}
    if settings.auth_users:  # Gradio's login page, checked against the configured accounts
        options["auth"] = Login(settings.auth_users)
        api.add_middleware(ClientAddressMiddleware)  # failed logins are counted per address too
    elif user := proxy_user(settings):  # refused unless the proxy in front signed them in
        options["auth_dependency"] = user
    mount_maintainers_page(api, settings, feedback)  # before "/", which would take its path
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        root_path=settings.ui_root_path or None,
        theme=THEME,
        css=CSS,
        footer_links=["gradio"],  # no API page or run history for visitors
        enable_monitoring=False,  # /monitoring would show request counts and timings to anyone
        max_file_size=0,  # the app takes no files: uploads are refused whatever their size
        show_error=False,  # an exception's text (addresses, paths, SQL) is for the log, not visitors
        **options,
    )


def server(
    settings: Settings, host: str, port: int, app: FastAPI | None = None
) -> "uvicorn.Server":
    """The HTTP server for ``app`` (default: the UI for ``settings``)."""
    import uvicorn

    config = uvicorn.Config(
        app or web_app(settings),
        host=host,
        port=port,
        # Behind a reverse proxy, the visitor's address (rate limits) and the scheme come from its
        # X-Forwarded-* headers, believed only from the proxies listed here.
        proxy_headers=True,
        forwarded_allow_ips=settings.ui_trusted_proxies,
        # On shutdown, answers in progress get this long; open event streams would hold it forever.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    return uvicorn.Server(config)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    use_model_threads(settings.ui_model_threads)
    server(settings, host, port).run()
