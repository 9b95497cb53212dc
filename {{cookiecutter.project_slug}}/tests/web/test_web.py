"""Who may use the web UI and how often: accounts, rate limits, and what each visitor may read."""

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.config import Account, Settings
from {{ cookiecutter.package_name }}.web import limits
from {{ cookiecutter.package_name }}.web.accounts import (
    ADDRESS_FAILURES_ALLOWED,
    FAILURES_ALLOWED,
    LOCKOUT_S,
    Login,
    client_address,
    hash_password,
    verify_password,
)
from {{ cookiecutter.package_name }}.web.limits import RateLimit
from {{ cookiecutter.package_name }}.web.visitors import identify

pytestmark = pytest.mark.unit  # pure logic: no server, no model

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def test_passwords_are_kept_as_salted_hashes(password_hash: str) -> None:
    assert PASSWORD not in password_hash and password_hash.startswith("scrypt$")
    assert hash_password(PASSWORD) != password_hash  # a salt of its own
    assert verify_password(PASSWORD, password_hash)
    assert not verify_password(PASSWORD + "!", password_hash)
    assert not verify_password(PASSWORD, "scrypt$not$a$hash")
    with pytest.raises(ValueError, match="10 to"):
        hash_password("short")


def login_from(login: Login, address: str, username: str, password: str) -> bool:
    token = client_address.set(address)
    try:
        return login(username, password)
    finally:
        client_address.reset(token)


ATTACKER, OWNER = "203.0.113.5", "198.51.100.7"


def test_guessing_a_password_locks_the_guesser_out_for_a_while(password_hash: str) -> None:
    clock = Clock()
    login = Login({"ann": Account(password_hash=password_hash)}, clock=clock)
    assert login_from(login, ATTACKER, "ann", PASSWORD)
    for _ in range(FAILURES_ALLOWED):
        assert not login_from(login, ATTACKER, "ann", "guess-guess-guess")
    assert not login_from(login, ATTACKER, "ann", PASSWORD)  # locked, even with the right password
    assert not login_from(login, ATTACKER, "nobody", PASSWORD)
    clock.now += LOCKOUT_S
    assert login_from(login, ATTACKER, "ann", PASSWORD)


def test_a_guesser_cannot_lock_the_owner_out(password_hash: str) -> None:
    clock = Clock()
    login = Login({"ann": Account(password_hash=password_hash)}, clock=clock)
    for _ in range(3):  # every few minutes, the guesser tries again
        for _ in range(FAILURES_ALLOWED + 2):
            assert not login_from(login, ATTACKER, "ann", "guess-guess-guess")
        assert login_from(login, OWNER, "ann", PASSWORD)  # from the owner's own address
        clock.now += LOCKOUT_S / 2


def test_one_address_guessing_many_names_is_locked_out(password_hash: str) -> None:
    clock = Clock()
    login = Login({"ann": Account(password_hash=password_hash)}, clock=clock)
    for number in range(ADDRESS_FAILURES_ALLOWED):
        assert not login_from(login, ATTACKER, f"user{number}", "guess-guess-guess")
    assert not login_from(login, ATTACKER, "ann", PASSWORD)  # that address gets no more tries
    assert login_from(login, OWNER, "ann", PASSWORD)


def test_failed_logins_are_remembered_in_bounded_memory(
    password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_CLIENTS", 4)
    login = Login({"ann": Account(password_hash=password_hash)}, clock=Clock())
    for number in range(10):
        login_from(login, f"192.0.2.{number}", "ann", "guess-guess-guess")
    assert len(login._failures._events) == 4


def test_a_client_may_act_only_so_often(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    limit = RateLimit(3, clock=clock)
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")  # others are not held up
    clock.now += 30
    assert not limit.allow("a")  # a sliding minute, not a fixed one
    clock.now += 30
    assert limit.allow("a")

    monkeypatch.setattr(limits, "MAX_CLIENTS", 2)
    for client in ("c", "d", "e"):
        limit.allow(client)
    assert len(limit._window._events) == 2  # memory is bounded, however many addresses come


def settings_with(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def request(headers: dict[str, str] | None = None, username: str | None = None) -> object:
    return SimpleNamespace(
        headers=headers or {}, username=username, client=SimpleNamespace(host="198.51.100.9")
    )


def rater_of(address: str) -> str:
    return f"client:{address}"


def test_a_proxy_signs_visitors_in_and_their_groups_widen_what_they_read() -> None:
    settings = settings_with(
        auth_header="X-Forwarded-User",
        auth_groups_header="X-Forwarded-Groups",
        group_access={"staff": ["internal"]},
    )
    staff = identify(
        request({"X-Forwarded-User": "ann", "X-Forwarded-Groups": "dev, staff"}),  # type: ignore[arg-type]
        settings,
        rater_of,
    )
    assert (staff.name, staff.client, staff.access) == ("ann", "user:ann", ("internal", "public"))
    anonymous = identify(request(), settings, rater_of)  # type: ignore[arg-type]
    assert (anonymous.name, anonymous.client, anonymous.access) == (
        None,
        "client:198.51.100.9",
        ("public",),
    )
    forged = identify(request({"X-Forwarded-User": "ann\x1b[2J"}), settings, rater_of)  # type: ignore[arg-type]
    assert forged.name is None


def test_a_header_means_nothing_without_the_proxy_setting() -> None:
    visitor = identify(request({"X-Forwarded-User": "admin"}), settings_with(), rater_of)  # type: ignore[arg-type]
    assert visitor.name is None and visitor.access == ("public",)


def test_users_of_the_login_page_read_their_groups_labels(password_hash: str) -> None:
    settings = settings_with(
        auth_users={"ann": {"password_hash": password_hash, "groups": ["staff"]}},
        group_access={"staff": ["internal"]},
    )
    visitor = identify(request(username="ann"), settings, rater_of)  # type: ignore[arg-type]
    assert visitor.access == ("internal", "public")


def test_sign_in_settings_are_checked(password_hash: str) -> None:
    with pytest.raises(ValidationError, match="not both"):
        settings_with(auth_users={"ann": {"password_hash": password_hash}}, auth_header="X-User")
    with pytest.raises(ValidationError, match="password_hash"):
        settings_with(auth_users={"ann": {"password_hash": "plain text"}})
