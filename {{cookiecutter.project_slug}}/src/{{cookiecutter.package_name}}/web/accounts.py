"""The UI's own users: passwords kept as scrypt hashes (the standard library's), checked in constant
time, and a lockout that stops anyone guessing a password without locking its owner out."""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from ..config import Account
from .limits import SlidingWindow

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 50 ms and 16 MB a check
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
FAILURES_ALLOWED = 5  # wrong passwords for one user name from one address within LOCKOUT_S
ADDRESS_FAILURES_ALLOWED = 20  # wrong passwords from one address within LOCKOUT_S, any user names
LOCKOUT_S = 300.0

# The address of the client whose login is being checked: Gradio passes the check only the user name
# and password, so the middleware below sets it for the request (the proxy's X-Forwarded-For already
# applied by the server).
client_address: ContextVar[str] = ContextVar("client_address", default="unknown")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash``, for ``RAG_AUTH_USERS``."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(
            f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(password: str, stored: str) -> bool:
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest, validate=True)
        candidate = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:  # not a hash this module wrote
        return False
    return scheme == "scrypt" and hmac.compare_digest(candidate, expected)


class Login:
    """Gradio's login check against the configured accounts.

    After ``FAILURES_ALLOWED`` wrong passwords for one user from one address within ``LOCKOUT_S``,
    that user's logins from that address are refused until the window has passed, right password or
    not; after ``ADDRESS_FAILURES_ALLOWED`` from one address, whatever the user names, every login
    from it is. A guesser is slowed either way, and cannot lock the owner out from the owner's own
    address. Unknown names take as long to refuse as known ones, so a reply does not tell which
    users exist.
    """

    def __init__(
        self, accounts: Mapping[str, Account], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._accounts = accounts
        self._failures = SlidingWindow(LOCKOUT_S, clock)  # by (user, address) and by address
        self._lock = threading.Lock()
        self._decoy = hash_password(secrets.token_hex(16))

    def __call__(self, username: str, password: str) -> bool:
        account = self._accounts.get(username)
        address = client_address.get()
        with self._lock:
            blocked = (
                self._failures.count((username, address)) >= FAILURES_ALLOWED
                or self._failures.count(address) >= ADDRESS_FAILURES_ALLOWED
            )
        if blocked:
            return False
        valid = verify_password(password, account.password_hash if account else self._decoy)
        if account is None or not valid:
            with self._lock:
                self._failures.record((username, address))
                self._failures.record(address)
            return False
        return True


class ClientAddressMiddleware:
    """Makes each HTTP request's client address known to ``Login`` (ASGI: the same task, so the
    context variable reaches Gradio's login route)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        token = client_address.set(client[0])
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(token)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
