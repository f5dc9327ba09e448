"""The per-segment read-unit limiter, on a fake clock."""

from __future__ import annotations

import pytest
from ddb_cdc.backfill import rate

from .conftest import FakeClock


def test_the_rate_limit_holds_read_units_per_second() -> None:
    clock = FakeClock()
    limiter = rate.ReadLimiter(50, clock=clock.monotonic, sleep=clock.sleep)
    spent = 0.0
    for page in range(20):
        limiter.wait()
        if page:  # every page but the first starts only once the units before it are paid off
            assert spent / clock.seconds <= 50 + 1e-9
        clock.advance(0.1)  # the Scan call itself
        limiter.spend(25.0)
        spent += 25.0
    assert limiter.spent == 500
    # 20 pages of 25 units at 50 units/s: the 20th page starts 19 x 0.5 s after the first.
    assert clock.seconds == pytest.approx(19 * 0.5 + 0.1)


def test_slow_pages_are_not_made_to_wait_again() -> None:
    clock = FakeClock()
    limiter = rate.ReadLimiter(100, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
        clock.advance(2.0)  # a page that took longer than its 1 unit costs at 100 units/s
        limiter.spend(1.0)
    assert clock.sleeps == []


def test_consumed_capacity_is_used_when_dynamodb_returns_it() -> None:
    response = {"Items": [{"pk": {"S": "x" * 10_000}}], "ConsumedCapacity": {"CapacityUnits": 7.5}}
    assert rate.page_units(response) == 7.5


def test_without_consumed_capacity_a_page_costs_half_a_unit_per_started_4_kb() -> None:
    small = {"pk": {"S": "a"}}  # 3 bytes
    assert rate.page_units({"Items": [small]}) == 0.5
    assert rate.page_units({"Items": []}) == 0
    exactly_4k = {"pk": {"S": "x" * (4096 - 2)}}
    assert rate.page_units({"Items": [exactly_4k]}) == 0.5
    assert rate.page_units({"Items": [exactly_4k, small]}) == 1.0
    assert rate.page_units({"Items": [{"pk": {"B": b"\0" * 10_000}}]}) == 1.5


def test_item_size_follows_dynamodb_rules_closely_enough() -> None:
    item = {
        "name": {"S": "héllo"},  # 4 + 6
        "n": {"N": "12345"},  # 1 + 4
        "flag": {"BOOL": True},  # 4 + 1
        "blob": {"B": "AAEC"},  # 4 + 3 (base64 text counts as its bytes)
        "l": {"L": [{"S": "ab"}, {"NULL": True}]},  # 1 + 3 + (1 + 2) + (1 + 1)
    }
    assert rate.item_size(item) == 10 + 5 + 5 + 7 + 9


def test_a_rate_must_be_positive() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        rate.ReadLimiter(0, clock=clock.monotonic, sleep=clock.sleep)
