"""The planning run: portfolio + policy + history + as_of -> decisions.

Pure and deterministic: no I/O and no clock; the same inputs give the same decisions.
Written for a million items in one call, so the hot loops work on ordinals and locals.
"""

from __future__ import annotations

import gc
import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from .channels import choose_channels
from .contact import (
    ContactRules,
    channel_contacts,
    contact_rules,
    counted_contacts,
    earliest_allowed,
    explain_wait,
    zone,
)
from .decisions import Action, CustomerDecision, CustomerFees, Decisions, PlanEvaluation, PromiseEvaluation
from .errors import InputError
from .experiments import assign_variant
from .holds import HoldSituation, credit_hold
from .money import quantum, rate_for
from .phrases import Phrase, english, english_cached
from .plans import broken_plan_count, evaluate_plans, plan_covered_item_ids
from .policy import Level, Policy, Strategy
from .promises import active_promise_item_ids, broken_promise_count, evaluate_promises
from .risk import RiskModel, behaviour_facts, score_facts
from .stages import CaseSituation, stage_for
from .statement import amount_asked
from .types import (
    MANUAL_CHANNELS,
    ChargedFee,
    ContactEvent,
    ContactWindow,
    Customer,
    History,
    Portfolio,
    ReceivableItem,
)

DEFAULT_VARIANT = "default"
_ZERO = Decimal(0)
_CAP_HORIZON = timedelta(days=8)
_NOT_COVERED: frozenset[str] = frozenset({"\x00not covered"})
_NO_LETTER: frozenset[str] = frozenset({"letter"})


@dataclass(frozen=True, slots=True)
class _Track:
    """A strategy (or one of its variants) ready for fast lookups."""

    strategy: Strategy
    variant: str
    levels: tuple[Level, ...]
    delays: tuple[int, ...]
    index_of: Mapping[str, int]
    horizon: int
    pre_due_levels: int


@dataclass(slots=True)
class _Need:
    """The items of a customer that reached a new level in this run."""

    item_ids: tuple[str, ...]
    level_index: int
    amount: Decimal
    oldest: ReceivableItem
    oldest_days: int
    asked: Decimal


@dataclass(slots=True)
class _Run:
    """What is shared by every customer of one planning run."""

    policy: Policy
    as_of: datetime
    today: date
    today_ordinal: int
    company_currency: str
    company_quantum: Decimal
    rates: Mapping[str, Decimal]
    tracks: dict[tuple[str, str], _Track]
    strategies: dict[str, Strategy]
    variant_weights: dict[str, list[tuple[str, int]]]
    risk_model: RiskModel
    strategy_by_category: dict[str, str]
    promise_cover: Mapping[str, frozenset[str] | None]
    plan_cover: Mapping[str, frozenset[str] | None]
    broken_promises: Mapping[str, float]
    broken_plans: Mapping[str, int]
    promises_by_customer: dict[str, list[PromiseEvaluation]]
    plans_by_customer: dict[str, list[PlanEvaluation]]
    _rules_cache: dict[
        tuple[str | None, str | None, ContactWindow | None, str | None, str | None], ContactRules
    ] = field(default_factory=dict)
    _slot_cache: dict[tuple[int, bool], datetime] = field(default_factory=dict)
    _windowed_cache: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def contact_rules(self, customer: Customer) -> ContactRules:
        """Return the customer's contact rules, cached per distinct override."""
        key = (customer.country, customer.timezone, customer.contact_window, customer.audience, customer.region)
        rules = self._rules_cache.get(key)
        if rules is None:
            rules = self._rules_cache[key] = contact_rules(customer, self.policy)
        return rules

    def respects_window(self, channels: tuple[str, ...]) -> bool:
        """Tell whether any of the channels waits for the contact window."""
        answer = self._windowed_cache.get(channels)
        if answer is None:
            configs = self.policy.channels
            answer = any(configs[c].respects_window for c in channels if c in configs)
            self._windowed_cache[channels] = answer
        return answer

    def earliest_slot(
        self,
        rules: ContactRules,
        contacts: list[datetime],
        channel_log: list[tuple[datetime, str]],
        channels: tuple[str, ...],
        windowed: bool,
    ) -> datetime:
        """Return the earliest allowed instant; customers never contacted share a cached answer."""
        if contacts or channel_log:
            return earliest_allowed(self.as_of, rules, contacts, channel_log, channels, windowed)
        key = (id(rules), windowed)  # rules live as long as the run (cached per distinct customer override)
        slot = self._slot_cache.get(key)
        if slot is None:
            slot = earliest_allowed(self.as_of, rules, (), (), (), windowed)
            self._slot_cache[key] = slot
        return slot


def plan(
    portfolio: Portfolio,
    policy: Policy,
    history: History,
    as_of: datetime,
    *,
    charged_fees: Sequence[ChargedFee] = (),
) -> Decisions:
    """Decide, for every customer, risk, stage, level and the actions to take as of ``as_of``.

    When the policy has ``late_fees``, ``Decisions.late_fees`` holds the fees and interest to charge
    (``fees.late_fees``, given ``charged_fees``: what was charged before); without it nothing is computed.
    When it has ``credit_hold``, each decision's ``credit_hold`` says whether the customer's new orders wait.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError("as_of must be a timezone-aware datetime")
    # A run allocates millions of small acyclic objects; the cyclic collector would rescan the
    # whole portfolio again and again for nothing. It is switched back on before returning.
    collecting = gc.isenabled()
    gc.disable()
    try:
        decisions = _plan(portfolio, policy, history, as_of)
        if policy.late_fees is not None:
            decisions.late_fees = _late_fees(portfolio, policy, history, as_of, decisions, charged_fees)
        return decisions
    finally:
        if collecting:
            gc.enable()


def _late_fees(
    portfolio: Portfolio,
    policy: Policy,
    history: History,
    as_of: datetime,
    decisions: Decisions,
    charged_fees: Sequence[ChargedFee],
) -> tuple[CustomerFees, ...]:
    """The run's fees: a reminder level's fee is due with this run's actions, exemptions read its risk categories."""
    from .fees import late_fees  # imported only by policies that charge fees (fees imports this module)

    planned = tuple(action.as_event(as_of) for action in decisions.actions())
    categories = {decision.customer_id: decision.risk.category for decision in decisions.customers}
    return late_fees(portfolio, policy, as_of, charged_fees, History(history.events + planned), categories)


def _plan(portfolio: Portfolio, policy: Policy, history: History, as_of: datetime) -> Decisions:
    run = _prepare(portfolio, policy, as_of)
    items_by_customer = group_items(portfolio, run.today)
    events_by_customer = group_events([event for event in history.events if event.known_at < as_of])
    known = {customer.id for customer in portfolio.customers}
    unknown = [customer_id for customer_id in items_by_customer if customer_id not in known]
    if unknown:
        raise InputError(f"items refer to unknown customers: {', '.join(sorted(unknown)[:5])}")
    decisions = tuple(
        decide_customer(run, customer, items_by_customer.get(customer.id, ()), events_by_customer.get(customer.id, ()))
        for customer in portfolio.customers
    )
    return Decisions(as_of=as_of, policy_name=policy.name, policy_revision=policy.revision, customers=decisions)


def local_today(policy: Policy, as_of: datetime) -> date:
    """Return the calendar date of ``as_of`` in the policy's timezone: the day items age against."""
    return as_of.astimezone(zone(policy.contact.timezone)).date()


def _prepare(portfolio: Portfolio, policy: Policy, as_of: datetime) -> _Run:
    today = local_today(policy, as_of)
    since = today - timedelta(days=policy.risk.lookback_days)
    promise_evals = evaluate_promises(portfolio.promises, portfolio.payments, policy.promises, today)
    plan_evals = evaluate_plans(portfolio.plans, portfolio.payments, today)
    promises_by_customer: dict[str, list[PromiseEvaluation]] = {}
    for evaluation in promise_evals.values():
        promises_by_customer.setdefault(evaluation.customer_id, []).append(evaluation)
    plans_by_customer: dict[str, list[PlanEvaluation]] = {}
    for plan_evaluation in plan_evals.values():
        plans_by_customer.setdefault(plan_evaluation.customer_id, []).append(plan_evaluation)
    return _Run(
        policy=policy,
        as_of=as_of,
        today=today,
        today_ordinal=today.toordinal(),
        company_currency=portfolio.company_currency,
        company_quantum=quantum(portfolio.company_currency),
        rates=portfolio.rates,
        tracks=_tracks(policy),
        strategies={strategy.key: strategy for strategy in policy.strategies},
        variant_weights={s.key: [(v.key, v.weight) for v in s.variants] for s in policy.strategies},
        risk_model=RiskModel.from_policy(policy),
        strategy_by_category={c: s.key for s in policy.strategies for c in s.risk_categories},
        promise_cover=active_promise_item_ids(promise_evals, portfolio.promises),
        plan_cover=plan_covered_item_ids(plan_evals, portfolio.plans),
        broken_promises=broken_promise_count(promise_evals, since),
        broken_plans=broken_plan_count(plan_evals, since),
        promises_by_customer=promises_by_customer,
        plans_by_customer=plans_by_customer,
    )


def _tracks(policy: Policy) -> dict[tuple[str, str], _Track]:
    tracks = {}
    for strategy in policy.strategies:
        options = [(variant.key, variant.levels) for variant in strategy.variants] or [
            (DEFAULT_VARIANT, strategy.levels)
        ]
        for variant, levels in options:
            delays = tuple(level.delay_days for level in levels)
            tracks[(strategy.key, variant)] = _Track(
                strategy=strategy,
                variant=variant,
                levels=levels,
                delays=delays,
                index_of={level.key: index for index, level in enumerate(levels)},
                horizon=max(0, -delays[0]),
                pre_due_levels=bisect_left(delays, 0),
            )
    return tracks


def group_items(portfolio: Portfolio, today: date) -> dict[str, list[ReceivableItem]]:
    """Group items by customer as they stood on ``today`` (later issues dropped, later payments undone)."""
    paid_later: dict[str, Decimal] = {}
    for payment in portfolio.payments:
        if payment.date > today:
            for allocation in payment.allocations:
                paid_later[allocation.item_id] = paid_later.get(allocation.item_id, _ZERO) + allocation.amount
    grouped: dict[str, list[ReceivableItem]] = {}
    for item in portfolio.items:
        if item.issue_date > today:
            continue
        settled = item.settled_on
        if (settled is not None and settled > today) or (paid_later and item.id in paid_later):
            item = _rewound(item, today, paid_later.get(item.id))
        bucket = grouped.get(item.customer_id)
        if bucket is None:
            grouped[item.customer_id] = [item]
        else:
            bucket.append(item)
    return grouped


def _rewound(item: ReceivableItem, today: date, paid_later: Decimal | None) -> ReceivableItem:
    """Return the item as it stood on ``today``: reopened by the payments made after it."""
    settled_later = item.settled_on is not None and item.settled_on > today
    if paid_later is not None:
        residual = min(item.amount, item.residual + paid_later)
    else:
        residual = item.amount if settled_later else item.residual
    return replace(item, residual=residual, settled_on=None if settled_later else item.settled_on)


def group_events(events: Sequence[ContactEvent]) -> dict[str, list[ContactEvent]]:
    """Group contact events by customer, each list oldest first."""
    grouped: dict[str, list[ContactEvent]] = {}
    for event in events:
        grouped.setdefault(event.customer_id, []).append(event)
    for customer_events in grouped.values():
        customer_events.sort(key=lambda event: (event.at, event.id))
    return grouped


def _track_for(run: _Run, customer: Customer, category: str) -> _Track:
    key = customer.strategy if customer.strategy in run.strategies else None
    key = key or run.strategy_by_category.get(category, run.policy.default_strategy)
    weights = run.variant_weights[key]
    if not weights:
        return run.tracks[(key, DEFAULT_VARIANT)]
    strategy = run.strategies[key]
    variant = assign_variant(strategy.experiment_key or strategy.key, customer.id, weights)
    return run.tracks[(key, variant)]


def _reached_levels(events: Sequence[ContactEvent], track: _Track) -> dict[str, int]:
    """Return, per item, the highest level index already sent (levels never repeat or go back)."""
    reached: dict[str, int] = {}
    index_of = track.index_of
    for event in events:
        index = index_of.get(event.level) if event.level else None
        if index is None:
            continue
        for item_id in event.item_ids:
            if reached.get(item_id, -1) < index:
                reached[item_id] = index
    return reached


def decide_customer(
    run: _Run, customer: Customer, items: Sequence[ReceivableItem], events: Sequence[ContactEvent]
) -> CustomerDecision:
    """Decide risk, stage, level and actions for one customer."""
    facts = behaviour_facts(
        items,
        run.today,
        run.policy,
        run.broken_promises.get(customer.id, 0.0),
        run.broken_plans.get(customer.id, 0),
        customer.credit_limit,
        run.rates or None,
    )
    risk = score_facts(customer.id, facts, run.policy, run.risk_model)
    track = _track_for(run, customer, risk.category)
    reached = _reached_levels(events, track)
    today = run.today_ordinal
    delays = track.delays
    level_count = len(delays)
    horizon = -track.horizon
    pre_due_levels = track.pre_due_levels
    company, rates = run.company_currency, run.rates
    cid = customer.id
    open_amount = overdue_amount = credits = eligible_overdue = _ZERO
    oldest = 0
    disputed: list[str] = []
    paused: list[str] = []
    need_ids: list[str] = []
    need_level = -1
    need_amount = _ZERO
    need_oldest: ReceivableItem | None = None
    need_days = 0
    has_upcoming = has_overdue = False
    all_disputed = True
    next_review: int | None = None
    level_index = -1
    plan_ids = run.plan_cover.get(cid, _NOT_COVERED)
    promise_ids = run.promise_cover.get(cid, _NOT_COVERED)
    for item in items:
        residual = item.residual
        if residual <= 0:
            continue
        if item.currency != company:
            residual = residual * rate_for(item.currency, company, rates)
        if item.is_credit:
            credits += residual
            continue
        open_amount += residual
        due = item.due_date.toordinal()
        days = today - due
        if days > 0:
            has_overdue = True
            overdue_amount += residual
            if days > oldest:
                oldest = days
            if not item.disputed:
                all_disputed = False
        elif days >= horizon:
            has_upcoming = True
        item_id = item.id
        done = reached.get(item_id, -1) if reached else -1
        if done > level_index:
            level_index = done
        if item.disputed:
            disputed.append(item_id)
            continue
        if (plan_ids is not _NOT_COVERED and (plan_ids is None or item_id in plan_ids)) or (
            promise_ids is not _NOT_COVERED and (promise_ids is None or item_id in promise_ids)
        ):
            paused.append(item_id)
            continue
        if days > 0:
            eligible_overdue += residual
        index = bisect_right(delays, days) - 1
        if days > 0 and index >= 0 and delays[index] < 0:
            index = -1  # a pre-due reminder is pointless once the item is overdue
        if index > done:
            need_ids.append(item_id)
            need_amount += residual
            if index > need_level:
                need_level = index
            if need_oldest is None or days > need_days:
                need_oldest, need_days = item, days
        upcoming = (index if index > done else done) + 1
        if days > 0 and upcoming < pre_due_levels:
            upcoming = pre_due_levels
        if upcoming < level_count:
            review = due + delays[upcoming]
            if next_review is None or review < next_review:
                next_review = review
    hold = _hold_reason(customer, run.today, credits, eligible_overdue)
    actions: tuple[Action, ...] = ()
    if need_oldest is not None and hold is None:
        asked = _amount_asked(run, track.levels[need_level], need_amount, eligible_overdue, credits)
        if asked < run.policy.minimum(company).reminder:
            hold = "below_minimum"
    if need_oldest is not None and hold is None:
        need = _Need(tuple(need_ids), need_level, need_amount, need_oldest, need_days, asked)
        actions = _actions(run, customer, track, need, events)
        if actions:
            level_index = max(level_index, actions[0].level_index)
    level = track.levels[level_index] if level_index >= 0 else None
    situation = CaseSituation(
        has_overdue=has_overdue,
        has_upcoming=has_upcoming,
        all_overdue_disputed=has_overdue and all_disputed,
        plan_active=plan_ids is not _NOT_COVERED,
        promise_active=promise_ids is not _NOT_COVERED,
        level_stage=level.stage if level else None,
    )
    stage = stage_for(situation, run.policy)
    hold_rules = run.policy.credit_hold
    held = None
    if hold_rules is not None:  # computed only for policies that hold credit
        hold_situation = HoldSituation(
            category=risk.category,
            stage=stage,
            overdue=max(eligible_overdue - credits, _ZERO),
            balance=open_amount - credits,
            currency=company,
            quantum=run.company_quantum,
            today=run.today,
            items=items,
            arranged=paused,
            plans=run.plans_by_customer.get(cid, ()),
        )
        held = credit_hold(hold_rules, customer, hold_situation)
    return CustomerDecision(
        customer_id=cid,
        currency=company,
        open_amount=(open_amount - credits).quantize(run.company_quantum, ROUND_HALF_UP),
        overdue_amount=overdue_amount.quantize(run.company_quantum, ROUND_HALF_UP),
        oldest_days_overdue=oldest,
        risk=risk,
        stage=stage,
        strategy=track.strategy.key,
        variant=track.variant,
        level=level.key if level else None,
        level_index=level_index,
        actions=actions,
        paused_item_ids=tuple(paused),
        disputed_item_ids=tuple(disputed),
        promises=tuple(run.promises_by_customer.get(cid, ())),
        plans=tuple(run.plans_by_customer.get(cid, ())),
        hold_reason=hold,
        next_review=date.fromordinal(next_review) if next_review is not None else None,
        credit_hold=held,
    )


def _hold_reason(customer: Customer, today: date, credits: Decimal, eligible_overdue: Decimal) -> str | None:
    if customer.do_not_dun:
        return "do_not_dun"
    if customer.paused_until is not None and customer.paused_until >= today:
        return "paused"
    if credits > 0 and eligible_overdue > 0 and credits >= eligible_overdue:
        return "credit_covers_overdue"
    return None


def _amount_asked(
    run: _Run, level: Level, need_amount: Decimal, eligible_overdue: Decimal, credits: Decimal
) -> Decimal:
    """Return what the reminder will ask for, as its statement will: overdue net of credits, or what comes due."""
    if level.delay_days < 0:
        return need_amount
    return amount_asked(eligible_overdue, credits, run.policy.statement.credits)


def _one_windowed_channel(channels: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """Keep the first window-respecting channel (and letters): the rules allow one channel a week."""
    kept: list[str] = []
    for channel in channels:
        config = policy.channels.get(channel)
        windowed = config is None or config.respects_window
        if not windowed or not any(policy.channels.get(c) is None or policy.channels[c].respects_window for c in kept):
            kept.append(channel)
    return tuple(kept)


def occasion_key(customer_id: str, strategy: str, level: str, item_ids: Sequence[str]) -> str:
    """Return the stable hash of a contact occasion: the same customer, level and items."""
    text = "\x1f".join((customer_id, strategy, level, *sorted(item_ids)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]



@lru_cache(maxsize=1024)
def _level_phrase(name: str, delay: int) -> Phrase:
    return Phrase.of("level_reached", level=name, delay=delay, delay_abs=abs(delay))


def _actions(
    run: _Run,
    customer: Customer,
    track: _Track,
    need: _Need,
    events: Sequence[ContactEvent],
) -> tuple[Action, ...]:
    policy = run.policy
    level_index = need.level_index
    level = track.levels[level_index]
    excluded = _NO_LETTER if need.asked < policy.minimum(run.company_currency).letter else frozenset()
    rules = run.contact_rules(customer)
    if rules.channels is not None:
        excluded = excluded | {channel for channel in level.channels if channel not in rules.channels}
    channels, why_channel = choose_channels(level, customer, events, run.as_of, policy.channel_selection, excluded)
    if rules.single_channel_per_7_days:
        channels = _one_windowed_channel(channels, policy)
    if not channels:
        return ()
    tz = rules.tz
    windowed = run.respects_window(channels)
    # caps count local days, ISO weeks and 7-day spans: contacts older than eight days never count
    since = run.as_of - _CAP_HORIZON
    recent = counted_contacts(events, policy, since) if events else []
    log = channel_contacts(events, policy, since) if events and rules.counts_channels else []
    capped = tuple(c for c in channels if policy.channels.get(c) is None or policy.channels[c].respects_window)
    slot = run.earliest_slot(rules, recent, log, capped, windowed)
    item_ids = need.item_ids
    company = run.company_currency
    amount = need.asked.quantize(run.company_quantum, ROUND_HALF_UP)  # what the reminder's statement asks
    days = need.oldest_days
    invoice = need.oldest.invoice_ref
    # phrases built directly (parameters in name order, as Phrase.of sorts them): this runs once per action
    when = (Phrase("item_overdue", (("days", days), ("invoice", invoice))) if days > 0
            else Phrase("item_due_in", (("days", -days), ("invoice", invoice))) if days < 0
            else Phrase("item_due_today", (("invoice", invoice),)))
    reached = _level_phrase(level.name, level.delay_days)
    why: tuple[Phrase, ...] = (when, reached, why_channel)
    reason = f"{english(when)}; {english_cached(reached)}; {english_cached(why_channel)}"
    if rules.preset is not None and windowed and slot > run.as_of:
        wait = explain_wait(run.as_of, rules, recent, log, capped)
        if wait is not None:
            why = (*why, wait)
            reason = f"{reason}; {english(wait)}"
    occasion = occasion_key(customer.id, track.strategy.key, level.key, item_ids)
    result = []
    for channel in channels:
        config = policy.channels.get(channel)
        not_before = slot if config is None or config.respects_window else run.as_of
        result.append(
            Action(
                key=f"{occasion}-{channel}",
                customer_id=customer.id,
                strategy=track.strategy.key,
                variant=track.variant,
                level=level.key,
                level_index=level_index,
                channel=channel,
                template=level.template,
                tone=level.tone,
                item_ids=item_ids,
                amount_due=amount,
                currency=company,
                not_before=not_before,
                local_time=not_before.astimezone(tz),
                cost=policy.channel_cost(channel),
                manual=channel in MANUAL_CHANNELS,
                reason=reason,
                reason_parts=why,
                call_script=level.call_script,
                attach_statement=level.attach_statement,
                attach_invoices=level.attach_invoices,
            )
        )
    return tuple(result)
