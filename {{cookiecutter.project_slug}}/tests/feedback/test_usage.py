"""The usage report's periods."""

from datetime import UTC, datetime, timedelta

import pytest

from {{ cookiecutter.package_name }}.feedback.usage import period_start

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("7d", NOW - timedelta(days=7)),
        (" 24h ", NOW - timedelta(hours=24)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),  # a date is read in UTC
        ("2026-11-01T08:00+01:00", datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_a_period_is_a_span_back_from_now_or_a_date(text: str, start: datetime) -> None:
    assert period_start(text, NOW) == start


@pytest.mark.parametrize("text", ["last tuesday", "7 days", "-3d", "", "9" * 60])
def test_anything_else_is_refused_with_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"neither a period \(7d, 24h, 30m\) nor a date"):
        period_start(text, NOW)
