"""Question sets: JSON lines, one question each, in the format of the project's ``eval/questions.jsonl``.

Fields: ``id``, ``question``, ``expected_files`` (paths of the pages that answer it, relative to a
source's folder or site) and/or ``expected_documents`` (document ids such as ``local:faq.txt``),
``keywords`` (a retrieved chunk counts only if it contains one), ``kind`` (any label, results are
broken down by it) and ``answer`` (a reference answer, for judging generated answers).
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


class CaseError(ValueError):
    """A question set that cannot be used, with the line that is wrong."""


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    expected_files: tuple[str, ...]
    expected_documents: tuple[str, ...]
    keywords: tuple[str, ...]
    kind: str
    answer: str


@dataclass(frozen=True)
class QuestionSet:
    name: str
    cases: list[EvalCase]
    digest: str  # of the file's bytes: runs are compared only on the same questions


def load_cases(path: Path) -> QuestionSet:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CaseError(f"cannot read {path}: {error.strerror or error}") from error
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(raw.decode("utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = parse_case(json.loads(line))
        except (json.JSONDecodeError, CaseError) as error:
            raise CaseError(f"{path}, line {number}: {error}") from error
        if case.id in seen:
            raise CaseError(f"{path}, line {number}: the id {case.id!r} is used twice")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise CaseError(f"{path} holds no questions")
    return QuestionSet(path.stem, cases, hashlib.sha256(raw).hexdigest()[:16])


def parse_case(record: object) -> EvalCase:
    if not isinstance(record, dict):
        raise CaseError("each line must be a JSON object")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise CaseError("'question' must be a non-empty string")
    files = _strings(record, "expected_files")
    documents = _strings(record, "expected_documents")
    if not files and not documents:
        raise CaseError("give 'expected_files' or 'expected_documents'")
    keywords = _strings(record, "keywords")
    if not keywords:
        raise CaseError("'keywords' must list at least one string from the answering passage")
    return EvalCase(
        id=str(record.get("id") or hashlib.sha256(question.encode()).hexdigest()[:8]),
        question=question.strip(),
        expected_files=files,
        expected_documents=documents,
        keywords=keywords,
        kind=str(record.get("kind") or "all"),
        answer=str(record.get("answer") or ""),
    )


def _strings(record: dict[str, object], key: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise CaseError(f"{key!r} must be a list of non-empty strings")
    return tuple(value)
