"""The contention suite of ``make bench`` in a tiny configuration (nothing timed)."""

from __future__ import annotations

import pytest

from bench import contention

pytestmark = pytest.mark.integration


def test_a_rush_on_a_small_event_sells_exactly_its_capacity() -> None:
    # When 12 buyers on 6 threads rush an event with 4 seats
    result = contention.run(1, buyers=12, capacity=4, threads=6)

    # Then exactly 4 were sold, in the answers and in the table, and everyone else heard sold out
    [sale] = result["rounds"]
    assert (sale["sold"], sale["sold_out"], sale["other_answers"]) == (4, 8, {})
    assert (sale["stored_sold"], sale["stored_tickets"]) == (4, 4)
    assert result["all_sold_equal_capacity"] is True
