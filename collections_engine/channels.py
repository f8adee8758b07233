"""Channel choice among a level's channels: reachability, opt-outs, switch rule, learning."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .phrases import Phrase
from .policy import ChannelSelection, Level
from .types import RESPONSE_OUTCOMES, ContactEvent, Customer


def reachable(customer: Customer, channel: str) -> bool:
    """Tell whether the customer has the address a channel needs."""
    if channel == "email":
        return bool(customer.email)
    if channel in ("sms", "whatsapp"):
        return bool(customer.mobile or customer.phone)
    if channel == "call":
        return bool(customer.phone or customer.mobile)
    if channel in ("letter", "visit"):  # a visit goes to the same postal address a letter does
        return customer.has_postal_address
    return False


def responded(event: ContactEvent) -> bool:
    """Tell whether the customer answered this contact in any way."""
    return event.responded_at is not None or event.outcome in RESPONSE_OUTCOMES


_ALLOWED: dict[tuple[tuple[str, ...], bool, bool, bool, frozenset[str]], list[str]] = {}


def allowed_channels(level: Level, customer: Customer) -> list[str]:
    """Return the level's channels the customer can be reached on and has not opted out of."""
    key = (
        level.channels,
        bool(customer.email),
        bool(customer.phone or customer.mobile),
        customer.has_postal_address,
        customer.opted_out_channels,
    )
    allowed = _ALLOWED.get(key)
    if allowed is None:
        allowed = [c for c in level.channels if c not in customer.opted_out_channels and reachable(customer, c)]
        if len(_ALLOWED) < 4096:  # bounded: the key space is small, but never let it grow without limit
            _ALLOWED[key] = allowed
    return list(allowed)


def response_rates(events: Sequence[ContactEvent], rules: ChannelSelection) -> dict[str, float]:
    """Return each channel's posterior mean response rate (Beta prior) for channels with enough sends."""
    sends: dict[str, int] = {}
    answers: dict[str, int] = {}
    for event in events:
        sends[event.channel] = sends.get(event.channel, 0) + 1
        if responded(event):
            answers[event.channel] = answers.get(event.channel, 0) + 1
    alpha = rules.prior_response_rate * rules.prior_strength
    beta = (1 - rules.prior_response_rate) * rules.prior_strength
    return {
        channel: (answers.get(channel, 0) + alpha) / (count + alpha + beta)
        for channel, count in sends.items()
        if count >= rules.min_observations
    }


def _after_switch(
    candidates: list[str], events: Sequence[ContactEvent], as_of: datetime, rules: ChannelSelection
) -> list[str]:
    """Drop the last channel used when it went unanswered for ``switch_after_days``; next in order first."""
    if len(candidates) < 2 or not events:
        return candidates
    last = events[-1]
    if last.channel not in candidates or responded(last):
        return candidates
    if (as_of - last.at).total_seconds() < rules.switch_after_days * 86400:
        return candidates
    index = candidates.index(last.channel)
    return candidates[index + 1 :] + candidates[:index]


def choose_channels(
    level: Level,
    customer: Customer,
    events: Sequence[ContactEvent],
    as_of: datetime,
    rules: ChannelSelection,
    excluded: frozenset[str] = frozenset(),
) -> tuple[tuple[str, ...], Phrase]:
    """Return the channel(s) to use for a level and why; events are the customer's, oldest first.

    ``excluded`` channels are not worth it this time (a letter for less than its minimum).
    """
    candidates = allowed_channels(level, customer)
    if excluded:
        candidates = [channel for channel in candidates if channel not in excluded]
    if not candidates:
        return (), Phrase.of("channel_none_reachable")
    if level.channel_mode == "all":
        return tuple(candidates), Phrase.of("channel_all_of_level")
    preferred = customer.preferred_channel
    if not events and preferred is None:
        return (candidates[0],), Phrase.of("channel_first_of_level")
    switched = _after_switch(candidates, events, as_of, rules)
    reason = Phrase.of("channel_first_of_level")
    if switched is not candidates:
        reason = Phrase.of("channel_no_response", channel=events[-1].channel, days=rules.switch_after_days)
    if preferred is not None and preferred in switched:
        return (preferred,), Phrase.of("channel_preferred")
    if rules.learning == "bayes":
        rates = response_rates(events, rules)
        if rates:
            best = max(switched, key=lambda c: (rates.get(c, rules.prior_response_rate), -switched.index(c)))
            if best != switched[0]:
                return (best,), Phrase.of("channel_best_response", rate=rates.get(best, rules.prior_response_rate))
    return (switched[0],), reason
