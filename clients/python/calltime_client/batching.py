"""Splitting many rows or contacts into requests inside the endpoint's limits (pure functions)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from calltime_client.errors import CampaignClientError


@dataclass(frozen=True)
class Limits:
    """Per request, as the endpoint enforces them (README "Limits per request")."""

    rows: int = 10_000  # seed-format rows
    contacts: int = 100
    calls_per_contact: int = 1_000
    calls: int = 30_000  # history calls in all
    # The serverless endpoint's 4 MB body, less room for the request's other fields.
    body_bytes: int = 4 * 1024 * 1024 - 16 * 1024


def _size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":")).encode())


def batches(items: Sequence[Any], max_items: int, max_bytes: int,
            weight: Callable[[Any], int] = lambda _: 0, max_weight: int = 0
            ) -> Iterator[tuple[int, list[Any]]]:
    """(first index, items) chunks in input order: at most `max_items` items, `max_bytes` of
    their JSON (with separators) and, with `max_weight`, `max_weight` of their summed weight.
    An item alone over a limit is refused by index."""
    start, chunk, size, load = 0, [], 2, 0
    for index, item in enumerate(items):
        item_size, item_weight = _size(item) + 1, weight(item)
        if item_size + 2 > max_bytes or (max_weight and item_weight > max_weight):
            raise CampaignClientError(f"item {index} alone exceeds a request's limit "
                                      f"({item_size:,} bytes of {max_bytes:,}"
                                      + (f", weight {item_weight} of {max_weight}"
                                         if max_weight else "") + ")")
        if chunk and (len(chunk) >= max_items or size + item_size > max_bytes
                      or (max_weight and load + item_weight > max_weight)):
            yield start, chunk
            start, chunk, size, load = index, [], 2, 0
        chunk.append(item)
        size, load = size + item_size, load + item_weight
    if chunk:
        yield start, chunk


def check_contacts(contacts: Sequence[dict[str, Any]], limits: Limits) -> None:
    """Refuse, before sending anything, a contact no request could carry."""
    for index, contact in enumerate(contacts):
        calls = len(contact.get("history", ()))
        if calls > limits.calls_per_contact:
            raise CampaignClientError(
                f"contacts[{index}] (contact_id {contact.get('contact_id')!r}): {calls:,} "
                f"history calls exceed the endpoint's {limits.calls_per_contact:,} per contact; "
                "send the most recent ones")
