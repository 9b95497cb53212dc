"""The Gradio app: ask, read the streamed answer and its sources, rate it.

The landing view lists recent questions whose answers people found helpful; clicking one asks it again.
"""

from collections.abc import Iterator

import gradio as gr

from .answers import QuestionError, Source
from .config import Settings
from .engine import QueryEngine
from .feedback import FeedbackStore

RECENT_QUESTIONS = 8


def format_sources(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = ["### Sources"]
    for source in sources:
        where = (
            f"[{source.uri}]({source.uri})" if source.uri.startswith("http") else f"`{source.uri}`"
        )
        quoted = "\n".join(f"> {line}" for line in source.snippet.splitlines() if line.strip())
        lines.append(f"**[{source.number}] {source.heading}** · {where}\n\n{quoted}")
    return "\n\n".join(lines)


def build_app(
    settings: Settings, engine: QueryEngine | None = None, feedback: FeedbackStore | None = None
) -> gr.Blocks:
    engine = engine or QueryEngine(settings)
    feedback = feedback or FeedbackStore(settings.feedback_url)

    def ask(question: str) -> Iterator[tuple[str, str, str, str]]:
        try:
            stream = engine.stream(question)
        except QuestionError as error:
            yield f"**{error}**", "", "", ""
            return
        sources = format_sources(stream.sources)
        for _ in stream:
            yield stream.text, sources, "", ""
        answer = stream.answer()
        interaction_id = feedback.record_interaction(answer)
        yield answer.text, sources, str(interaction_id), ""

    def rate(interaction_id: str, score: int, comment: str) -> str:
        if not interaction_id:
            return "Ask a question first, then rate its answer."
        try:
            feedback.record_rating(int(interaction_id), score, comment)
        except LookupError:
            return "That answer is no longer on record; please ask again."
        return "Thanks, your rating was saved."

    def rate_helpful(interaction_id: str, comment: str) -> str:
        return rate(interaction_id, 1, comment)

    def rate_unhelpful(interaction_id: str, comment: str) -> str:
        return rate(interaction_id, -1, comment)

    def recent() -> gr.Dataset:
        return gr.Dataset(samples=[[q] for q in feedback.recent_good_questions(RECENT_QUESTIONS)])

    with gr.Blocks(title=settings.project_name) as app:
        gr.Markdown(f"# {settings.project_name}\nAsk a question about the documentation.")
        with gr.Row():
            question = gr.Textbox(
                label="Your question",
                placeholder="How do I add a new source?",
                scale=5,
                max_lines=6,
            )
            ask_button = gr.Button("Ask", variant="primary", scale=1)
        recent_questions = gr.Dataset(
            components=[question], samples=[], label="Recent questions people found helpful"
        )
        answer = gr.Markdown(label="Answer")
        sources = gr.Markdown()
        interaction_id = gr.Textbox(visible=False)
        with gr.Row():
            helpful = gr.Button("👍 Helpful", scale=1)
            unhelpful = gr.Button("👎 Not helpful", scale=1)
            comment = gr.Textbox(label="Comment (optional)", scale=4, max_lines=3)
        rating_status = gr.Markdown()

        answer_outputs = [answer, sources, interaction_id, rating_status]
        ask_button.click(ask, inputs=question, outputs=answer_outputs, api_name="ask")
        question.submit(ask, inputs=question, outputs=answer_outputs, api_visibility="private")
        recent_questions.click(
            lambda sample: sample[0],
            inputs=recent_questions,
            outputs=question,
            api_visibility="private",
        ).then(ask, inputs=question, outputs=answer_outputs, api_visibility="private")
        rating_inputs = [interaction_id, comment]
        for button, rate_fn in ((helpful, rate_helpful), (unhelpful, rate_unhelpful)):
            button.click(
                rate_fn, inputs=rating_inputs, outputs=rating_status, api_name=rate_fn.__name__
            ).then(recent, outputs=recent_questions, api_visibility="private")
        app.load(recent, outputs=recent_questions, api_name="recent_questions")
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    build_app(settings).queue().launch(server_name=host, server_port=port)
