"""What every stage shares about an answer: its trace's timings, tokens and cost."""

import time

import pytest

from {{ cookiecutter.package_name }}.answers import Trace

pytestmark = pytest.mark.unit


def test_a_stage_that_runs_twice_is_added_up() -> None:
    trace = Trace()
    for _ in range(2):
        with trace.stage("embed"):
            time.sleep(0.01)
    assert list(trace.stages_ms) == ["embed"] and trace.stages_ms["embed"] >= 20


def test_a_stage_that_fails_is_timed_all_the_same() -> None:
    trace = Trace()
    with pytest.raises(ValueError), trace.stage("rerank"):
        raise ValueError("the reranker failed")
    assert trace.stages_ms["rerank"] >= 0


def test_cost_is_zero_without_tokens_unknown_without_a_price_and_priced_per_million() -> None:
    assert Trace(price=None).cost == 0.0  # nothing was spent
    unpriced = Trace(price=None)
    unpriced.add_tokens(10, 5, reported=True)
    assert unpriced.cost is None  # not zero: the price table does not know the model
    priced = Trace(price=(0.15, 0.60))
    priced.add_tokens(1_000_000, 500_000, reported=True)
    assert priced.cost == pytest.approx(0.45)


def test_tokens_count_as_reported_only_when_every_call_reported_them() -> None:
    trace = Trace()
    trace.add_tokens(10, 5, reported=True)
    assert trace.tokens_reported
    trace.add_tokens(3, 1, reported=False)
    assert (trace.prompt_tokens, trace.completion_tokens, trace.tokens_reported) == (13, 6, False)
