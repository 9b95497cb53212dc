"""Training pairs for the embedding model, and the questions an experiment scores it on.

A pair is a question and a passage that answers it:
- the question of a helpful, complete answer that passed the sharing bar (the bar of verified answers,
  so that one person cannot train the model), with each passage the answer cited; an answer that
  cites a document a maintainer hid is left out;
- an accepted evaluation case (the project's question set), with the passage its keywords find.
A pair's hard negative is the passage of another page that BM25 ranks first for its question, among
the passages answers and searches brought up.

The documents are split by a hash of their ids: the questions about the held-out share are never
trained on, and both index versions are scored on them, so that no near-duplicate of a training
question is scored.
"""

import hashlib
import math
import random
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ...answers import Source, cited_numbers
from ...config import Settings
from ...feedback.sharing import Bar, RatedAnswer
from ...feedback.store import FeedbackStore
from ..cases import EvalCase, parse_case
from ..proposals import proposals
from ..scoring import is_expected_document, is_relevant, normalise
from .negatives import BM25, hard_negative

Search = Callable[[str], Sequence[Source]]  # the sources the live index finds for a text
# The index's verified answers (feedback.verified) are answers, not pages: never a passage to learn.
VERIFIED = "verified:"


@dataclass(frozen=True)
class Passage:
    document_id: str
    text: str  # as the index embeds a chunk: its title and section above its text


@dataclass(frozen=True)
class Pair:
    question: str
    positive: Passage
    origin: str  # "feedback:<interaction id>" or "case:<case id>"
    negative: Passage | None = None


@dataclass
class TrainingData:
    pairs: list[Pair]
    held_out: list[EvalCase]  # scored, never trained on
    held_out_documents: list[str]
    feedback_through: int | None  # the newest interaction that made a pair or a held-out question
    left_out: Counter[str] = field(default_factory=Counter)  # questions not used, by reason

    def lineage(self) -> dict[str, Any]:
        """What the data was, for the model's lineage."""
        origins = Counter(pair.origin.split(":", 1)[0] for pair in self.pairs)
        digest = hashlib.sha256()
        for pair in self.pairs:
            digest.update(f"{pair.question}\0{pair.positive.text}\0".encode())
        return {
            "pairs": len(self.pairs),
            "pairs_sha256": digest.hexdigest()[:16],
            "from_feedback": origins["feedback"],
            "from_eval_cases": origins["case"],
            "hard_negatives": sum(1 for pair in self.pairs if pair.negative),
            "feedback_through_interaction": self.feedback_through,
            "held_out_questions": len(self.held_out),
            "held_out_documents": len(self.held_out_documents),
            "left_out": dict(self.left_out),
        }


def embedded_text(title: str, section: str, text: str) -> str:
    """A passage as ingestion embeds a chunk (LlamaIndex's metadata template for title and section)."""
    return f"title: {title}\nsection: {section}\n\n{text}"


def passage_of(source: Mapping[str, Any] | Source) -> Passage | None:
    """A stored or found source as a passage; None for one without text or document."""
    fields = source if isinstance(source, Mapping) else asdict(source)
    document_id, title, section, text = (
        str(fields.get(key) or "") for key in ("document_id", "title", "section", "text")
    )
    if not document_id or not text.strip() or document_id.startswith(VERIFIED):
        return None
    return Passage(document_id, embedded_text(title, section, text))


def held_out_documents(document_ids: Collection[str], share: float) -> set[str]:
    """The documents whose questions are scored, never trained on: ``share`` of them (at least one),
    the same ones on every run over the same documents."""
    ranked = sorted(document_ids, key=lambda d: hashlib.sha256(d.encode()).hexdigest())
    return set(ranked[: max(1, math.ceil(share * len(ranked)))]) if ranked else set()


def cited_passages(rated: RatedAnswer) -> list[Passage]:
    """The passages an answer cited (the first, for an answer made of passages)."""
    numbers = set(cited_numbers(rated.answer)) or {1}
    return [
        passage
        for source in rated.sources
        if source.get("number") in numbers
        for passage in [passage_of(source)]
        if passage
    ]


def training_data(
    feedback: FeedbackStore,
    settings: Settings,
    cases: Sequence[EvalCase],
    documents: Collection[str],
    search: Search,
) -> TrainingData:
    """Pairs and held-out questions from the answers that passed the sharing bar (rated helpful by
    enough people, or approved; complete) and from ``cases``, leaving out documents a maintainer hid."""
    hidden = {document for document, action in feedback.overrides().items() if action == "hide"}
    return collect(
        feedback.helpful_answers(Bar.of(settings)),
        cases,
        documents,
        hidden=hidden,
        held_out_share=settings.finetune_held_out,
        search=search,
    )


def collect(
    answers: Sequence[RatedAnswer],
    cases: Sequence[EvalCase],
    documents: Collection[str],
    *,
    hidden: Collection[str],
    held_out_share: float,
    search: Search,
) -> TrainingData:
    """Pairs and held-out questions from ``answers`` (those that passed the sharing bar) and
    ``cases``, over the index's ``documents``; ``search`` finds a case's passage by its keywords."""
    documents = [document for document in documents if not document.startswith(VERIFIED)]
    held = held_out_documents(documents, held_out_share)
    data = TrainingData([], [], sorted(held), None)
    pool: list[Passage] = []
    scored_answers: list[RatedAnswer] = []
    for rated in answers:
        pool += [p for source in rated.sources for p in [passage_of(source)] if p]
        cited = cited_passages(rated)
        side = _side({p.document_id for p in cited}, held, hidden)
        if side == "train":
            data.pairs += [
                Pair(rated.question, p, f"feedback:{rated.interaction_id}") for p in cited
            ]
        elif side == "held out":
            scored_answers.append(rated)
        else:
            data.left_out[side] += 1
            continue
        data.feedback_through = max(data.feedback_through or 0, rated.interaction_id)
    for case in cases:
        side = _side({d for d in documents if is_expected_document(d, case)}, held, hidden)
        if side == "held out":
            data.held_out.append(case)
        elif side != "train":
            data.left_out[side] += 1
        elif passage := _case_passage(case, search, pool):
            data.pairs.append(Pair(case.question, passage, f"case:{case.id}"))
        else:
            data.left_out["its passage was not found"] += 1
    known = {normalise(case.question) for case in data.held_out}
    data.held_out += [parse_case(proposal) for proposal in proposals(scored_answers, known)]
    trained = {normalise(pair.question) for pair in data.pairs}
    data.held_out = [case for case in data.held_out if normalise(case.question) not in trained]
    data.pairs = with_hard_negatives(_once_each(data.pairs), pool)
    return data


def _once_each(pairs: Sequence[Pair]) -> list[Pair]:
    """A question asked again and answered from the same passage (or both answered and an
    accepted case) trains once."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for pair in pairs:
        key = (normalise(pair.question), pair.positive.text)
        if key not in seen:
            seen.add(key)
            unique.append(pair)
    return unique


def _side(cited: set[str], held: set[str], hidden: Collection[str]) -> str:
    """Which side of the split a question falls on: "train", "held out", or why neither."""
    if not cited:
        return "it cites no document of the index"
    if any(document in hidden for document in cited):
        return "it cites a hidden document"
    if cited <= held:
        return "held out"
    return "train" if not cited & held else "it cites documents on both sides of the split"


def case_source(case: EvalCase, search: Search, seen: list[Passage] | None = None) -> Source | None:
    """The source that answers ``case``: the first relevant one found for one of its keywords (the
    passage contains it) or its question. The passages searched on the way are added to ``seen``."""
    for query in (*case.keywords, case.question):
        sources = list(search(query))
        if seen is not None:
            seen += [p for source in sources for p in [passage_of(source)] if p]
        for source in sources:
            if is_relevant(source, case):
                return source
    return None


def _case_passage(case: EvalCase, search: Search, seen: list[Passage]) -> Passage | None:
    source = case_source(case, search, seen)
    return passage_of(source) if source else None


def with_hard_negatives(pairs: Sequence[Pair], pool: Iterable[Passage]) -> list[Pair]:
    """Each pair with the passage BM25 ranks first for its question among the pool's passages of
    pages that answer none of the question's pairs."""
    passages = list(dict.fromkeys(pool))
    ranker = BM25([passage.text for passage in passages])
    answering: dict[str, set[str]] = {}
    for pair in pairs:
        answering.setdefault(pair.question, set()).add(pair.positive.document_id)
    return [
        replace(
            pair, negative=hard_negative(pair.question, passages, ranker, answering[pair.question])
        )
        for pair in pairs
    ]


def shuffled(pairs: Sequence[Pair], seed: int = 0) -> list[Pair]:
    """A negative control: every question paired with another question's passages. A model trained
    on these must lose, and an experiment must refuse it."""
    passages = [(pair.positive, pair.negative) for pair in pairs]
    random.Random(seed).shuffle(passages)
    return [
        replace(pair, positive=positive, negative=negative)
        for pair, (positive, negative) in zip(pairs, passages, strict=True)
    ]
