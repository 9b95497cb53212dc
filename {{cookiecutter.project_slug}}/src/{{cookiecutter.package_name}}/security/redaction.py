"""Redaction of e-mail addresses and secret-looking tokens: optional at ingestion, so that they never
reach the index, and always for error text from other services, before it is logged.

Patterns are deliberately specific (known key formats, ``key = value`` assignments of long random-looking
values), so ordinary prose and code survive. Turning redaction on or off changes what is stored but not
the documents' content hashes: rebuild with a full refresh.
"""

import re
import traceback

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
SECRETS = [
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b"),  # OpenAI-style secret keys
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),  # Slack tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),  # JWTs
    re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),  # Authorization header values
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL),
    re.compile(r"(?<=://)[^\s/:@]+:[^\s/@]+(?=@)"),  # user:password in a URL
]
# `password = "..."`, `API_KEY: ...`: keep the name, hide a value of 12+ characters.
ASSIGNED_SECRET = re.compile(
    r"(?i)\b(\w*(?:api[_-]?key|secret|token|password|passwd|access[_-]?key)\w*\s*[:=]\s*[\"']?)"
    r"([A-Za-z0-9/+_.=-]{12,})"
)


def redact(text: str) -> tuple[str, int]:
    """The text with e-mail addresses and secrets replaced, and how many were replaced."""
    count = 0
    for pattern in SECRETS:
        text, found = pattern.subn("[REDACTED SECRET]", text)
        count += found
    text, found = ASSIGNED_SECRET.subn(r"\1[REDACTED SECRET]", text)
    count += found
    text, found = EMAIL.subn("[REDACTED EMAIL]", text)
    return text, count + found


def describe(error: BaseException) -> str:
    """An error for the log: one line, and no secret that another service may have echoed back."""
    return redact(f"{type(error).__name__}: {error}".splitlines()[0][:300])[0]


def describe_fully(error: BaseException) -> str:
    """An unexpected error for the log: its traceback, and no secret that its messages hold."""
    return redact("".join(traceback.format_exception(error)))[0]
