"""Who is asking, and what they may read.

A visitor is signed in by the UI's own login page (``auth_users``) or by an auth proxy in front that
names them in a header (``auth_header``); anyone else is anonymous. Anonymous visitors read the
``query_access`` labels; a signed-in one also reads the labels of their groups (``group_access``).
Limits and ratings count by client: a signed-in user, else a keyed hash of the address.
"""

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from ..config import Settings

MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Visitor:
    name: str | None  # None: not signed in
    client: str  # who limits and ratings count: "user:<name>" or "client:<hash of the address>"
    access: tuple[str, ...]  # the labels of the chunks they may read


def identify(
    request: gr.Request | None, settings: Settings, rater_of: Callable[[str], str]
) -> Visitor:
    name, groups = _signed_in(request, settings)
    labels = set(settings.query_access)
    if name is not None:
        for group in groups:
            labels.update(settings.group_access.get(group, []))
        return Visitor(name, f"user:{name}", tuple(sorted(labels)))
    client = getattr(request, "client", None) if request is not None else None
    address = str(getattr(client, "host", "") or "unknown")
    return Visitor(None, rater_of(address), tuple(sorted(labels)))


def proxy_user(settings: Settings) -> Callable[[object], str | None] | None:
    """With ``auth_required``, Gradio's check that refuses (401) whoever the proxy did not sign in."""
    header = settings.auth_header
    if not (header and settings.auth_required):
        return None

    def user(request: object) -> str | None:
        return header_name(getattr(request, "headers", {}).get(header))

    return user


def _signed_in(request: gr.Request | None, settings: Settings) -> tuple[str | None, list[str]]:
    if request is None:
        return None, []
    if settings.auth_users:
        name = request.username
        account = settings.auth_users.get(name or "")
        return (name, account.groups) if account else (None, [])
    if settings.auth_header:
        headers = request.headers
        name = header_name(headers.get(settings.auth_header))
        listed = headers.get(settings.auth_groups_header) if settings.auth_groups_header else None
        groups = [g.strip() for g in str(listed or "").split(",") if g.strip()]
        return (name, groups) if name else (None, [])
    return None, []


def header_name(value: object) -> str | None:
    """A user name from a proxy's header, or None when it is missing or not a plausible name."""
    name = str(value or "").strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        return None
    return name
