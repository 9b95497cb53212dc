"""The Gradio app: a conversation about the documentation, with sources and ratings.

Follow-up questions are read with the turns before them (see ``engine``). Each answer streams in; its
``[n]`` citations link to the sources listed under it as cards, and each answer can be rated, once it
exists, helpful or not, with an optional comment. The landing view says what the app answers and offers
the recent questions whose answers people found helpful. System fonts only: it needs no internet.
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio.components.chatbot import ExampleMessage

from .answers import CITATION, Answer, QuestionError, Source
from .config import Settings
from .engine import QueryEngine
from .feedback import FeedbackStore

RECENT_QUESTIONS = 6
MAX_COMMENT_CHARS = 1000
SNIPPET_PREVIEW_CHARS = 160
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
"""


@dataclass
class Conversation:
    """What the server keeps of one browser session's conversation (never sent to the browser)."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (question searched, answer text)
    interactions: dict[int, int] = field(default_factory=dict)  # message index -> interaction id
    ratings: dict[int, int] = field(default_factory=dict)  # interaction id -> its rating here
    last_rating: int | None = None  # the rating a comment goes to


def link_citations(text: str, sources: list[Source]) -> str:
    """``[n]`` becomes a link to source n where it has a web address."""
    links = {s.number: s.uri for s in sources if s.uri.startswith(("http://", "https://"))}

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return f"[[{number}]]({links[number]})" if number in links else match.group(0)

    return CITATION.sub(link, text)


def plain_text(markdown: str) -> str:
    """Chunk text for a one-line preview: without heading marks, code fences, bold or backticks."""
    text = re.sub(r"(?m)^\s*(#{1,6}\s+|```\w*\s*$|>\s?)", "", markdown)
    return re.sub(r"\*{1,3}|`+", "", text)


def source_cards(sources: list[Source], whole: bool = False) -> str:
    """Sources as compact cards: title › section, link or path, and a preview that expands to the
    snippet, or to the whole passage (``whole``: when the passages are the answer)."""
    cards = []
    for source in sources:
        where = html.escape(source.uri)
        if source.uri.startswith(("http://", "https://")):
            where = f'<a href="{where}" target="_blank" rel="noopener noreferrer">{where}</a>'
        preview = " ".join(plain_text(source.snippet).split())[:SNIPPET_PREVIEW_CHARS]
        preview = preview.rsplit(" ", 1)[0]
        cards.append(
            '<details class="source-card">'
            f"<summary><b>[{source.number}] {html.escape(source.heading)}</b> "
            f'<span class="source-where">{where}</span><br>{html.escape(preview)} …</summary>'
            f"<p>{html.escape(source.text if whole else source.snippet)}</p></details>"
        )
    return f'<div class="sources"><b>Sources</b>{"".join(cards)}</div>' if cards else ""


def answer_view(answer: Answer) -> str:
    """An answer as the conversation shows it: cited text, then its sources; passages once."""
    if answer.mode == "passages":
        return f"_{answer.notice}_" + source_cards(answer.sources, whole=True)
    return link_citations(answer.text, answer.sources) + source_cards(answer.sources)


def pick_starter(selection: gr.SelectData) -> str:
    """The starter question someone clicked on the landing view."""
    return str(selection.value["text"])


def landing_text() -> str:
    return (
        "**Ask about the documentation**: how to set things up, what an option does, why something "
        "fails. Answers cite their sources, and you can ask follow-up questions.\n\n"
        "Rate the answers: the questions whose answers helped appear here for the next person."
    )


def build_app(
    settings: Settings, engine: QueryEngine | None = None, feedback: FeedbackStore | None = None
) -> gr.Blocks:
    engine = engine or QueryEngine(settings)
    feedback = feedback or FeedbackStore(settings.feedback_url)

    def starters() -> list[ExampleMessage]:
        return [ExampleMessage(text=q) for q in feedback.recent_good_questions(RECENT_QUESTIONS)]

    def respond(
        message: str, chat: list[dict[str, Any]], conversation: Conversation
    ) -> Iterator[tuple[list[dict[str, Any]], str, Conversation]]:
        if not chat:  # an empty conversation starts afresh, whatever this session asked before
            conversation = Conversation()
        chat = [*chat, {"role": "user", "content": message}]
        try:
            stream = engine.stream(message, conversation.turns)
        except QuestionError as error:
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
        conversation.interactions[len(chat) - 1] = feedback.record_interaction(answer)
        yield chat, "", conversation

    def rate(
        data: gr.LikeData, conversation: Conversation
    ) -> tuple[str, dict[str, Any], Conversation]:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        interaction = conversation.interactions.get(int(index))
        if interaction is None or not isinstance(data.liked, bool):
            return "", gr.update(visible=False), conversation
        score = 1 if data.liked else -1
        if (rating := conversation.ratings.get(interaction)) is not None:
            feedback.update_rating(rating, score=score)  # changed their mind: one rating each
        else:
            rating = conversation.ratings[interaction] = feedback.record_rating(interaction, score)
        conversation.last_rating = rating
        thanks = "Thanks, your rating was saved." + (
            "" if score > 0 else " What was missing? A comment helps us improve the docs."
        )
        return thanks, gr.update(visible=True, value=""), conversation

    def comment(text: str, conversation: Conversation) -> tuple[str, dict[str, Any]]:
        if conversation.last_rating is None or not text.strip():
            return "", gr.update()
        if len(text) > MAX_COMMENT_CHARS:  # the page limits it too, but requests can be forged
            return f"Please keep comments under {MAX_COMMENT_CHARS:,} characters.", gr.update()
        feedback.update_rating(conversation.last_rating, comment=text)
        return "Thanks, your comment was saved.", gr.update(visible=False, value="")

    def new_conversation() -> tuple[list[dict[str, Any]], Conversation, str, dict[str, Any]]:
        return [], Conversation(), "", gr.update(visible=False, value="")

    def refresh_starters() -> dict[str, Any]:
        return gr.update(examples=starters() or None)

    with gr.Blocks(title=settings.project_name) as app:
        conversation = gr.State(lambda: Conversation())  # a factory: one per browser session
        with gr.Row(equal_height=True):
            gr.Markdown(f"### {html.escape(settings.project_name)}")
            new_button = gr.Button("New conversation", size="sm", scale=0, min_width=160)
        chatbot = gr.Chatbot(
            placeholder=landing_text(),
            examples=starters() or None,
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


def launch(app: gr.Blocks, host: str, port: int, settings: Settings, **options: Any) -> None:
    app.queue(
        default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_queue_size
    ).launch(
        server_name=host,
        server_port=port,
        theme=THEME,
        css=CSS,
        footer_links=["gradio"],  # no API page or run history for visitors
        enable_monitoring=False,  # /monitoring would show request counts and timings to anyone
        max_file_size=0,  # the app takes no files: uploads are refused whatever their size
        **options,
    )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    launch(build_app(settings), host, port, settings)
