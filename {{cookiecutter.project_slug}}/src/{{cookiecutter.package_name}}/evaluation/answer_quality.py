"""Generated answers on a question set: do they cite only the sources they were given, and, with a
judge (a language model over the same API), how faithful are they to those sources and how far do
they agree with the reference answer?

The judge's grades are a rough signal, not a measurement: a small model grades generously and
unevenly. Compare runs graded by the same judge, and read the answers behind a change.
"""

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import mean

from llama_index.core.llms import LLM

from ..answering.prompts import judge_messages
from ..answers import Answer, citations_are_sound, cited_numbers
from ..security.redaction import describe
from .cases import EvalCase

log = logging.getLogger(__name__)

# "faithfulness": 4 as JSON, or faithfulness = 4 / Faithfulness: 4 as small models write it.
GRADE = re.compile(r'"?\b(faithfulness|agreement)\b"?\s*[:=]\s*"?([1-5])\b', re.IGNORECASE)


@dataclass(frozen=True)
class Judgement:
    faithfulness: int  # 1-5: how much of the answer its sources support
    agreement: int  # 1-5: how far it agrees with the reference answer


@dataclass(frozen=True)
class AnswerCheck:
    case_id: str
    mode: str  # "llm"; "passages" when the model failed or the evidence was weak; "verified"
    cites: bool  # at least one [n]
    sound: bool  # cites, and only sources it was given
    complete: bool  # False: the model stopped mid-answer
    judgement: Judgement | None
    seconds: float


Judge = Callable[[EvalCase, Answer], Judgement | None]


def parse_judgement(reply: str) -> Judgement | None:
    """Both grades from a judge's reply (the first of each), or None if either is missing."""
    grades: dict[str, int] = {}
    for name, value in GRADE.findall(reply):
        grades.setdefault(name.lower(), int(value))
    if len(grades) < 2:
        return None
    return Judgement(grades["faithfulness"], grades["agreement"])


def llm_judge(llm: LLM) -> Judge:
    def judge(case: EvalCase, answer: Answer) -> Judgement | None:
        messages = judge_messages(case.question, case.answer, answer.sources, answer.text)
        try:
            reply = str(llm.chat(messages).message.content or "")
        except Exception as error:  # one failed grade is reported as unread, the run goes on
            log.warning("the judge could not grade %s: %s", case.id, describe(error))
            return None
        return parse_judgement(reply)

    return judge


def check_answers(
    ask: Callable[[str], Answer],
    cases: Sequence[EvalCase],
    judge: Judge | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[AnswerCheck]:
    """Answer each case's question with ``ask``; the judge grades the answers the model wrote
    for cases that hold a reference answer."""
    checks = []
    for case in cases:
        started = time.perf_counter()
        answer = ask(case.question)
        seconds = time.perf_counter() - started
        written = answer.mode == "llm"
        checks.append(
            AnswerCheck(
                case_id=case.id,
                mode=answer.mode,
                cites=bool(cited_numbers(answer.text)),
                sound=citations_are_sound(answer.text, len(answer.sources)),
                complete=answer.complete,
                judgement=judge(case, answer) if judge and written and case.answer else None,
                seconds=seconds,
            )
        )
        if progress:
            progress(1)
    return checks


def answer_figures(checks: Sequence[AnswerCheck]) -> dict[str, float]:
    """The checks as figures, saved with the evaluation run beside retrieval's (and printed by
    ``answer_report``): how many questions, how many the model answered, cut off, citing and citing
    soundly (also as shares of its answers), and the judge's means over the answers it graded."""
    written = [check for check in checks if check.mode == "llm"]
    figures = {
        "answers": float(len(checks)),
        "answers_by_model": float(len(written)),
        "cut_off": float(sum(not c.complete for c in written)),
    }
    if written:
        citing, sound = sum(c.cites for c in written), sum(c.sound for c in written)
        figures |= {"citing": float(citing), "sound": float(sound)}
        figures["citing_share"] = round(citing / len(written), 4)
        figures["sound_share"] = round(sound / len(written), 4)
    judged = [c.judgement for c in written if c.judgement]
    if judged:
        figures["judged"] = float(len(judged))
        figures["faithfulness"] = round(mean(j.faithfulness for j in judged), 3)
        figures["agreement"] = round(mean(j.agreement for j in judged), 3)
    return figures


def answer_report(checks: Sequence[AnswerCheck], judge_model: str | None) -> str:
    """What the checks found; the judge's line when ``judge_model`` graded."""
    if not checks:
        return "answers: no questions"
    figures = answer_figures(checks)
    asked, written = int(figures["answers"]), int(figures["answers_by_model"])
    seconds = sorted(check.seconds for check in checks)[len(checks) // 2]
    lines = [
        f"answers: {asked} questions, {written} answered by the model "
        f"({asked - written} by passages or a verified answer), "
        f"{figures['cut_off']:.0f} cut off; median {seconds:.1f} s each"
    ]
    if not written:
        return lines[0]
    lines.append(
        f"citations: {figures['citing']:.0f} of {written} cite a source, "
        f"{figures['sound']:.0f} cite only sources they were given"
    )
    if judge_model is not None:
        judged = int(figures.get("judged", 0))
        if not judged:
            lines.append(f"judge ({judge_model}): no answer could be graded")
        else:
            lines.append(
                f"judge ({judge_model}): faithfulness {figures['faithfulness']:.2f}/5, "
                f"agreement {figures['agreement']:.2f}/5 over {judged} answers "
                f"({written - judged} not graded: no reference answer or reply unread)"
            )
    return "\n".join(lines)
