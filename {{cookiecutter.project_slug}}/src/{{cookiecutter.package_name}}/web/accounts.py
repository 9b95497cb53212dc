"""The UI's own users: passwords kept as scrypt hashes (the standard library's), checked in constant
time, and a lockout that stops anyone guessing one user's password."""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping

from ..config import Account

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # about 50 ms and 16 MB a check
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
FAILURES_ALLOWED = 5  # wrong passwords for one user name within LOCKOUT_S, then no more tries
LOCKOUT_S = 300.0


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

    After ``FAILURES_ALLOWED`` wrong passwords for one user within ``LOCKOUT_S``, that user's logins
    are refused until the window has passed, right password or not. Unknown names take as long to
    refuse as known ones, so a reply does not tell which users exist.
    """

    def __init__(
        self, accounts: Mapping[str, Account], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._accounts = accounts
        self._clock = clock
        self._failures: dict[str, list[float]] = {}  # only for names that exist: bounded
        self._lock = threading.Lock()
        self._decoy = hash_password(secrets.token_hex(16))

    def __call__(self, username: str, password: str) -> bool:
        account = self._accounts.get(username)
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(username, []) if now - t < LOCKOUT_S]
            self._failures[username] = recent
        if len(recent) >= FAILURES_ALLOWED:
            return False
        valid = verify_password(password, account.password_hash if account else self._decoy)
        if account is None:
            return False
        if not valid:
            with self._lock:
                self._failures.setdefault(username, []).append(now)
        return valid


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
