"""Which items a promise or a plan pauses: per customer, a set of item ids or None for all of them."""

from __future__ import annotations

from collections.abc import Sequence

Cover = dict[str, frozenset[str] | None]


def add_cover(covered: Cover, customer_id: str, item_ids: Sequence[str]) -> None:
    """Record that a customer's items (all of them when ``item_ids`` is empty) are paused."""
    current = covered.get(customer_id, frozenset())
    if current is None or not item_ids:
        covered[customer_id] = None
    else:
        covered[customer_id] = current | frozenset(item_ids)
