"""The daily run: receivable lines (SQL, in batches) -> the engine -> cases, risk and actions."""

import json
import logging
import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

from collections_engine import (
    Allocation,
    ContactEvent,
    Customer,
    History,
    Payment,
    Portfolio,
    Promise,
    late_fees,
    plan,
    policy_from_dict,
    policy_to_json,
)
from collections_engine.engine import local_today
from collections_engine.errors import EngineError, PolicyError
from collections_engine.policy import DEFAULT_RISK_WEIGHTS
from collections_engine.statement import build_statement
from collections_engine.types import CHANNELS, ContactWindow

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError

from .collection_statement import _KINDS, OPEN_RECEIVABLE_LINES, THANK_YOU, case_amounts, receivable_item
from .collection_strategy import CONTROL_VARIANT

_logger = logging.getLogger(__name__)
SEND_PER_CRON_CALL = 500  # actions per call of the sending cron; it is called again while some are left
PENDING = ("scheduled", "to_do")


def _hours(text):
    """Parse '09:00-13:00,15:00-18:00' into [["09:00", "13:00"], ...]."""
    return [part.strip().split("-", 1) for part in (text or "").split(",") if "-" in part]


def _weekdays(text):
    return [int(part) for part in (text or "").split(",") if part.strip().isdigit()]


class CollectionRun(models.AbstractModel):
    _name = "collection.run"
    _description = "Collections Daily Run"

    # ------------------------------------------------------------
    # POLICY
    # ------------------------------------------------------------

    @api.model
    def _policy_document(self, company):
        """Build the engine's policy document from the configuration records of a company."""
        company_domain = [("company_id", "in", (company.id, False))]
        stages = self.env["collection.stage"].search(company_domain)
        categories = self.env["collection.risk.category"].search(company_domain)
        strategies = self.env["collection.strategy"].search([*company_domain, ("parent_id", "=", False)])
        roles = {stage.role: stage.key for stage in stages if stage.role}
        return {
            "schema_version": 1,
            "name": company.name,
            "revision": 1,
            "stages": [{"key": s.key, "name": s.name, "sequence": s.sequence, "closed": s.fold} for s in stages],
            "stage_rules": roles,
            "risk": {
                "weights": {factor: company[f"collection_risk_{factor}"] for factor in DEFAULT_RISK_WEIGHTS},
                "categories": [
                    {"key": c.key, "name": c.name, "min_score": c.min_score, "color": c.color % 12} for c in categories
                ],
            },
            "strategies": [self._strategy_document(strategy) for strategy in strategies],
            "payment_plans": [
                {
                    "risk_category": c.key,
                    "max_installments": c.plan_max_installments,
                    "min_down_payment_pct": str(c.plan_min_down_payment_pct),
                    "frequencies": [f for f in ("weekly", "biweekly", "monthly") if c[f"plan_{f}"]],
                    "grace_days": c.plan_grace_days,
                }
                for c in categories
                if c.plan_max_installments > 0
            ],
            "default_strategy": strategies[:1].key or "",
            "contact": {
                "timezone": company.collection_tz or "UTC",
                "hours": _hours(company.collection_hours),
                "weekdays": _weekdays(company.collection_weekdays),
                "countries": {
                    rule.country_id.code: rule._policy_rule()
                    for rule in self.env["collection.contact.country"].search([("company_id", "=", company.id)])
                },
                "max_per_day": company.collection_max_per_day,
                "max_per_week": company.collection_max_per_week,
                "audience": company.collection_audience or "b2c",
            },
            "channels": {channel: {"cost": str(company[f"collection_cost_{channel}"])} for channel in CHANNELS},
            "statement": {"credits": company.collection_credits_mode or "net"},
            "minimums": {
                minimum.currency_id.name: {
                    "reminder": str(minimum.reminder_amount),
                    "letter": str(minimum.letter_amount),
                }
                for minimum in self.env["collection.minimum"].search([("company_id", "=", company.id)])
            },
            **({"late_fees": company._collection_late_fee_section()} if company.collection_late_fees else {}),
        }

    @api.model
    def _strategy_document(self, strategy):
        document = {
            "key": strategy.key,
            "name": strategy.name,
            "risk_categories": strategy.risk_category_ids.mapped("key"),
            "levels": self._levels_document(strategy.level_ids),
        }
        variants = strategy.variant_ids.filtered("active")
        if variants:
            document["experiment_key"] = strategy.experiment_key or strategy.key
            document["variants"] = [
                {
                    "key": CONTROL_VARIANT,
                    "name": strategy.name,
                    "weight": strategy.variant_weight,
                    "levels": document["levels"],
                },
                *(
                    {
                        "key": v.key,
                        "name": v.name,
                        "weight": v.variant_weight,
                        "levels": self._levels_document(v.level_ids),
                    }
                    for v in variants
                ),
            ]
        return document

    @api.model
    def _levels_document(self, levels):
        return [
            {
                "key": level.key,
                "name": level.name,
                "delay_days": level.delay_days,
                "channels": level._channels(),
                "channel_mode": level.channel_mode,
                "template": level.key,
                "tone": level.tone,
                "attach_statement": level.attach_statement,
                "attach_invoices": level.attach_invoices,
                **({"stage": level.stage_id.key} if level.stage_id else {}),
                **({"call_script": level.call_script} if level.call_script else {}),
            }
            for level in levels.sorted("delay_days")
        ]

    @api.model
    def _policy(self, company):
        try:
            return policy_from_dict(self._policy_document(company))
        except PolicyError as err:
            raise UserError(
                _("The collections configuration is not valid:\n%(problems)s", problems="\n".join(err.problems))
            ) from err

    @api.model
    def get_policy_json(self):
        """The current company's policy document, validated (for connectors pulling it over JSON-RPC)."""
        if not self.env.user.has_group("account_collections.group_collection_user"):
            raise AccessError(_("Only collections users can read the collections policy."))
        return policy_to_json(self._policy(self.env.company))

    @api.model
    def action_export_policy(self):
        """Validate the configuration and download it as the engine's JSON policy document."""
        company = self.env.company
        policy = self._policy(company)
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"collections-policy-{company.id}.json",
                "raw": policy_to_json(policy).encode(),
                "mimetype": "application/json",
                "res_model": "res.company",
                "res_id": company.id,
            }
        )
        return {"type": "ir.actions.act_url", "url": f"/web/content/{attachment.id}?download=true", "target": "self"}

    # ------------------------------------------------------------
    # READING (SQL, one query per batch whatever its size)
    # ------------------------------------------------------------

    @api.model
    def _partners_to_run(self, company):
        """Commercial partners with open receivables, or with a case to update, ordered by id."""
        self.env.cr.execute(
            f"""
            SELECT DISTINCT move.commercial_partner_id
            {OPEN_RECEIVABLE_LINES}
               AND move.commercial_partner_id IS NOT NULL
             UNION
            SELECT partner_id FROM collection_case WHERE company_id = %(company)s AND active
             ORDER BY 1
            """,
            {"company": company.id},
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _read_items(self, company, partner_ids, since, settled_since=None):
        """Receivable items (one per instalment line) of the partners: open ones and those dated since a date
        (and, given ``settled_since``, those reconciled on or after it, however old)."""
        self.env.cr.execute(
            """
            SELECT line.id, move.commercial_partner_id, move.name, line.balance, line.amount_residual,
                   COALESCE(move.invoice_date, line.date), COALESCE(line.date_maturity, line.date),
                   move.payment_state = 'blocked', move.move_type,
                   move.origin_payment_id IS NOT NULL OR move.statement_line_id IS NOT NULL,
                   CASE WHEN line.reconciled THEN
                        (SELECT MAX(partial.max_date) FROM account_partial_reconcile partial
                          WHERE partial.debit_move_id = line.id OR partial.credit_move_id = line.id)
                   END
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN account_move move ON move.id = line.move_id
             WHERE line.company_id = %(company)s
               AND line.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
               AND move.commercial_partner_id IN %(partners)s
               AND (NOT line.reconciled
                    OR line.date >= %(since)s
                    OR (%(settled_since)s::date IS NOT NULL AND EXISTS (
                        SELECT 1 FROM account_partial_reconcile partial
                         WHERE (partial.debit_move_id = line.id OR partial.credit_move_id = line.id)
                           AND partial.max_date >= %(settled_since)s::date)))
             ORDER BY move.commercial_partner_id, line.id
            """,
            {"company": company.id, "partners": tuple(partner_ids), "since": since, "settled_since": settled_since},
        )
        currency = company.currency_id.name
        return [
            receivable_item(
                line_id,
                partner_id,
                name,
                currency,
                balance,
                residual,
                issued,
                due,
                blocked,
                settled_on=settled if not residual else None,
                # what the line is decides what it counts as: a payment received is no credit sale
                kind=_KINDS.get(move_type)
                or ("payment" if balance < 0 and from_payment else "credit_note" if balance < 0 else "invoice"),
            )
            for (
                line_id,
                partner_id,
                name,
                balance,
                residual,
                issued,
                due,
                blocked,
                move_type,
                from_payment,
                settled,
            ) in self.env.cr.fetchall()
        ]

    @api.model
    def _read_payments(self, company, partner_ids, since):
        """Customer payments (receivable credits of journal entries) with what they settled."""
        self.env.cr.execute(
            """
            SELECT line.id, move.commercial_partner_id, line.date, -line.balance,
                   COALESCE((SELECT json_agg(json_build_array(partial.debit_move_id, partial.amount))
                               FROM account_partial_reconcile partial
                              WHERE partial.credit_move_id = line.id), '[]'::json)
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN account_move move ON move.id = line.move_id
             WHERE line.company_id = %(company)s
               AND line.parent_state = 'posted'
               AND account.account_type = 'asset_receivable'
               AND move.move_type = 'entry'
               AND line.balance < 0
               AND move.commercial_partner_id IN %(partners)s
               AND line.date >= %(since)s
             ORDER BY line.date, line.id
            """,
            {"company": company.id, "partners": tuple(partner_ids), "since": since},
        )
        currency = company.currency_id.name
        return [
            Payment(
                id=str(line_id),
                customer_id=str(partner_id),
                date=paid_on,
                amount=Decimal(str(amount)),
                currency=currency,
                allocations=tuple(Allocation(str(item_id), Decimal(str(part))) for item_id, part in parts),
            )
            for line_id, partner_id, paid_on, amount, parts in self.env.cr.fetchall()
        ]

    @api.model
    def _read_promises(self, company, partner_ids):
        promises = self.env["collection.promise"].search_read(
            [("company_id", "=", company.id), ("partner_id", "in", partner_ids)],
            ["partner_id", "created_on", "promised_date", "amount", "move_line_ids", "cancelled"],
        )
        currency = company.currency_id.name
        return [
            Promise(
                id=str(row["id"]),
                customer_id=str(row["partner_id"][0]),
                created_on=row["created_on"],
                promised_date=row["promised_date"],
                amount=Decimal(str(row["amount"])),
                currency=currency,
                item_ids=tuple(str(line_id) for line_id in row["move_line_ids"]),
                cancelled=row["cancelled"],
            )
            for row in promises
        ]

    @api.model
    def _credit_limits(self, company, partners):
        """``{partner id: limit}`` of the partners with a credit limit in the company, as Odoo's own check reads it.

        Odoo's fields, not copies: the company's *Sales Credit Limit* setting (``account_use_credit_limit``)
        turns limits on, and a partner's ``credit_limit`` (company-dependent, the company's default limit
        unless ``use_partner_credit_limit``) is its limit; zero means none, as for Odoo's warning.
        """
        if not company.account_use_credit_limit:
            return {}
        rows = partners.with_company(company).read(["credit_limit"])
        return {row["id"]: Decimal(str(row["credit_limit"])) for row in rows if row["credit_limit"] > 0}

    @api.model
    def _read_customers(self, partner_ids, company=None):
        company = company or self.env.company
        partners = self.env["res.partner"].browse(partner_ids).with_context(prefetch_fields=False)
        limits = self._credit_limits(company, partners)
        fields_to_read = [
            "name",
            "country_id",
            "tz",
            "email",
            "phone",
            "mobile",
            "lang",
            "user_id",
            "collection_preferred_channel",
            "collection_do_not_dun",
            "collection_paused_until",
            "collection_hours",
            "collection_weekdays",
            "collection_opt_out_email",
            "collection_opt_out_sms",
            "collection_opt_out_whatsapp",
            "collection_opt_out_call",
            "collection_opt_out_letter",
            "collection_opt_out_visit",
            "collection_audience",
            "is_company",
            "state_id",
        ]
        countries, regions = {}, {}
        customers = []
        reachable = partners._collection_reach()  # the addressee's email and mobile decide the channels
        postal = partners._collection_postal()  # letters and visits need the addressee's postal address
        for row in partners.read(fields_to_read):
            email, number = reachable[row["id"]]
            country_id = row["country_id"][0] if row["country_id"] else None
            if country_id and country_id not in countries:
                countries[country_id] = self.env["res.country"].browse(country_id).code
            state_id = row["state_id"][0] if row["state_id"] else None
            if state_id and state_id not in regions:
                regions[state_id] = self.env["res.country.state"].browse(state_id).code
            window = None
            if row["collection_hours"] or row["collection_weekdays"]:
                window = ContactWindow(
                    hours=tuple(tuple(pair) for pair in _hours(row["collection_hours"] or "09:00-18:00")),
                    weekdays=tuple(_weekdays(row["collection_weekdays"] or "1,2,3,4,5")),
                )
            customers.append(
                Customer(
                    id=str(row["id"]),
                    name=row["name"] or "",
                    country=countries.get(country_id),
                    timezone=row["tz"] or None,
                    email=email or None,
                    phone=row["phone"] or number or None,
                    mobile=number or None,
                    has_postal_address=postal[row["id"]],
                    language=row["lang"] or None,
                    collector=str(row["user_id"][0]) if row["user_id"] else None,
                    preferred_channel=row["collection_preferred_channel"] or None,
                    opted_out_channels=frozenset(c for c in CHANNELS if row[f"collection_opt_out_{c}"]),
                    contact_window=window,
                    do_not_dun=row["collection_do_not_dun"],
                    paused_until=row["collection_paused_until"] or None,
                    credit_limit=limits.get(row["id"]),
                    # consumer-collection laws protect people: a company is a business unless set otherwise
                    audience=row["collection_audience"] or ("b2b" if row["is_company"] else None),
                    region=regions.get(state_id),
                )
            )
        return customers

    @api.model
    def _read_history(self, company, partner_ids):
        actions = self.env["collection.action"].search_read(
            [("company_id", "=", company.id), ("partner_id", "in", partner_ids), ("state", "!=", "cancelled")],
            [
                "key",
                "partner_id",
                "not_before",
                "channel",
                "level_key",
                "strategy_key",
                "variant",
                "move_line_ids",
                "outcome",
                "cost",
                "planned_at",
            ],
        )
        return History(
            events=tuple(
                ContactEvent(
                    id=row["key"],
                    customer_id=str(row["partner_id"][0]),
                    at=row["not_before"].replace(tzinfo=timezone.utc),
                    channel=row["channel"],
                    level=row["level_key"] or None,
                    strategy=row["strategy_key"] or None,
                    variant=row["variant"] or None,
                    item_ids=tuple(str(line_id) for line_id in row["move_line_ids"]),
                    outcome=row["outcome"] or "sent",
                    cost=Decimal(str(row["cost"] or 0)),
                    planned_at=row["planned_at"].replace(tzinfo=timezone.utc) if row["planned_at"] else None,
                )
                for row in actions
            )
        )

    # ------------------------------------------------------------
    # RUN
    # ------------------------------------------------------------

    @api.model
    def _cron_daily_run(self):
        """Plan every company, then hand the sending to its own cron (started at once, in its own batches)."""
        for company in self.env["res.company"].search([]):
            if self.env["collection.strategy"].search_count([("company_id", "in", (company.id, False))]):
                self.with_company(company)._run_company(company, send=False)
        self.env.ref("account_collections.ir_cron_collection_send_due")._trigger()

    @api.model
    def _may_commit(self):
        """Whether a run may commit its finished batches: not in tests, nor while modules load (demo data).

        A run commits batch by batch so that a long one stopped midway (a cron's time limit, a
        restart) keeps what it did; inside a test or a module installation the transaction is
        not the run's to end, nor inside a payment's post-processing (context ``collection_no_commit``).
        """
        if self.env.context.get("collection_no_commit"):
            return False
        return not getattr(threading.current_thread(), "testing", False) and self.env.registry.ready

    @api.model
    def _run_company(self, company, partners=None, as_of=None, batch_size=200, send=True):
        """Plan every customer of a company (or the given ones) in batches, then send what is due.

        The daily cron plans with ``send=False`` and triggers the sending cron, which works through the
        day's actions in batches of its own (a cron has a time limit; mail rendering is the slow part).
        """
        as_of = as_of or datetime.now(timezone.utc).replace(microsecond=0)
        self.env.flush_all()  # the batches are read with SQL
        policy = self._policy(company)
        partner_ids = partners.commercial_partner_id.ids if partners else self._partners_to_run(company)
        since = as_of.date().toordinal() - policy.risk.lookback_days
        done = 0
        for start in range(0, len(partner_ids), batch_size):
            batch = partner_ids[start : start + batch_size]
            self._run_batch(company, policy, batch, as_of, date.fromordinal(since))
            done += len(batch)
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(partner_ids) - done)
            if self._may_commit():
                # a stopped run keeps its finished batches; the rest is redone next time
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if partners is None:
            # a run of the whole company: the day's KPIs and cash-in forecast (a run for some customers
            # leaves them alone)
            book = self.env["collection.kpi.snapshot"]._company_book(company, policy, as_of)
            if book:
                self.env["collection.kpi.snapshot"]._take(company, policy, as_of, book)
                self.env["collection.forecast"]._take(company, policy, as_of, book)
        if send:
            self._execute_due_actions(company, as_of)
        return done

    @api.model
    def _run_batch(self, company, policy, partner_ids, as_of, since):
        portfolio = Portfolio(
            company_currency=company.currency_id.name,
            customers=tuple(self._read_customers(partner_ids, company)),
            items=tuple(self._read_items(company, partner_ids, since)),
            payments=tuple(self._read_payments(company, partner_ids, since)),
            promises=tuple(self._read_promises(company, partner_ids)),
            plans=tuple(
                plan._engine_plan()
                for plan in self.env["collection.plan"].search(
                    [
                        ("company_id", "=", company.id),
                        ("partner_id", "in", partner_ids),
                        ("approval_state", "=", "accepted"),  # a proposal awaiting approval pauses nothing
                    ]
                )
            ),
        )
        history = self._read_history(company, partner_ids)
        try:
            # late fees are computed below, on a portfolio without the fee invoices (no fee on a fee)
            decisions = plan(portfolio, replace(policy, late_fees=None), history, as_of)
            fees = self._late_fees(company, policy, portfolio, history, decisions, as_of)
        except EngineError as err:
            raise UserError(str(err)) from err
        items = {}
        for item in portfolio.items:
            items.setdefault(item.customer_id, []).append(item)
        today = local_today(policy, as_of)
        statements = {d.customer_id: self._statement(policy, d, items, today) for d in decisions.customers}
        self._write_decisions(company, decisions, as_of, statements)
        if fees:
            self._post_late_fees(company, policy, decisions, fees, as_of, since)

    @api.model
    def _statement(self, policy, decision, items, today):
        return build_statement(
            decision.customer_id,
            items.get(decision.customer_id, ()),
            today,
            arranged_item_ids=decision.paused_item_ids,
            credits_mode=policy.statement.credits,
        )

    # ------------------------------------------------------------
    # LATE FEES
    # ------------------------------------------------------------

    @api.model
    def _fee_move_line_ids(self, line_ids):
        """The receivable lines, among ``line_ids``, of fee invoices (never charged fees themselves)."""
        if not line_ids:
            return set()
        self.env.cr.execute(
            """
            SELECT line.id FROM account_move_line line JOIN account_move move ON move.id = line.move_id
             WHERE move.collection_is_fee AND line.id IN %s
            """,
            [tuple(line_ids)],
        )
        return {str(row[0]) for row in self.env.cr.fetchall()}

    @api.model
    def _late_fees(self, company, policy, portfolio, history, decisions, as_of):
        """The engine's new late fee and interest lines of the batch (``late_fees``), given what was charged.

        As ``plan`` would compute them (this run's reminders count for the fees per level, the risk
        categories for the exemptions), but on the portfolio without the fee invoices: a fee invoice paid
        late is followed up like any invoice and never charged a fee or interest itself.
        """
        if policy.late_fees is None or not company.collection_late_fees or self.env.context.get("collection_no_fees"):
            return ()
        fee_items = self._fee_move_line_ids([int(item.id) for item in portfolio.items])
        charged = self.env["collection.fee.charge"]._engine_charged(company, [int(c.id) for c in portfolio.customers])
        planned = tuple(action.as_event(as_of) for action in decisions.actions())
        return late_fees(
            replace(portfolio, items=tuple(item for item in portfolio.items if item.id not in fee_items)),
            policy,
            as_of,
            charged,
            History(history.events + planned),
            {decision.customer_id: decision.risk.category for decision in decisions.customers},
        )

    @api.model
    def _post_late_fees(self, company, policy, decisions, fees, as_of, since):
        """Post the fee invoices, then give their cases the amounts of the ledger that includes them."""
        cases = {
            case.partner_id.id: case
            for case in self.env["collection.case"]
            .with_context(active_test=False)
            .search([("company_id", "=", company.id), ("partner_id", "in", [int(f.customer_id) for f in fees])])
        }
        today = local_today(policy, as_of)
        moves = self.env["collection.fee.charge"]._post(company, fees, today, cases)
        if not moves:
            return
        self.env.flush_all()
        partner_ids = moves.partner_id.commercial_partner_id.ids
        items = {}
        for item in self._read_items(company, partner_ids, since):
            items.setdefault(item.customer_id, []).append(item)
        updates = []
        for decision in decisions.customers:
            case = cases.get(int(decision.customer_id))
            if case and int(decision.customer_id) in partner_ids:
                statement = self._statement(policy, decision, items, today)
                updates.append((case.id, case_amounts(statement, company.currency_id.name)))
        self._update_cases(updates)

    # ------------------------------------------------------------
    # WRITING
    # ------------------------------------------------------------

    @api.model
    def _write_decisions(self, company, decisions, as_of, statements):
        """Update the cases (amounts from each customer's statement), record the new actions, clean up."""
        company_domain = [("company_id", "in", (company.id, False))]
        stages = {s.key: s for s in self.env["collection.stage"].search(company_domain)}
        categories = {c.key: c for c in self.env["collection.risk.category"].search(company_domain)}
        strategies = {s.key: s for s in self.env["collection.strategy"].search(company_domain)}
        partner_ids = [int(d.customer_id) for d in decisions.customers]
        Case = self.env["collection.case"].with_context(active_test=False, tracking_disable=True)
        cases = {
            c.partner_id.id: c
            for c in Case.search([("company_id", "=", company.id), ("partner_id", "in", partner_ids)])
        }
        naive_now = as_of.astimezone(timezone.utc).replace(tzinfo=None)
        new_cases = []
        updates = []
        closing = []  # cases that close in this run, with the values that say why
        for decision in decisions.customers:
            strategy = strategies.get(decision.strategy)
            levels = strategy._variant_levels(decision.variant) if strategy else None
            level = levels.filtered(lambda lvl, key=decision.level: lvl.key == key)[:1] if strategy else False
            stage = stages.get(decision.stage)
            values = {
                "stage_id": stage.id if stage else False,
                "risk_score": decision.risk.score,
                "risk_category_id": categories[decision.risk.category].id
                if decision.risk.category in categories
                else False,
                "risk_explanation": decision.risk.explanation(),
                "risk_factors": [list(factor) for factor in decision.risk.factors()],
                "level_id": level.id if level else False,
                "strategy_id": strategy.id if strategy else False,
                "variant": decision.variant,
                **case_amounts(statements[decision.customer_id], company.currency_id.name),
                "next_review_date": decision.next_review,
                "hold_reason": decision.hold_reason or False,
                "last_run": naive_now,
            }
            partner_id = int(decision.customer_id)
            case = cases.get(partner_id)
            if case:
                if stage and stage.role == "closed" and case.stage_id != stage:
                    closing.append((case, values, bool(case.level_id)))
                updates.append((case.id, values))
            elif self._opens_case(decision, policy_closed(stages)):
                new_cases.append({**values, "partner_id": partner_id, "company_id": company.id})
        self._update_cases(updates)
        quiet = Case.with_context(mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True)
        for case in quiet.create(new_cases):
            cases[case.partner_id.id] = case
        self.env["collection.case"].browse([c.id for c in cases.values()])._assign_collectors()  # never OdooBot
        self._record_actions(company, decisions, cases, strategies, naive_now)
        self._close_cases(company, closing, naive_now)
        self._cancel_obsolete_actions(company, decisions, statements, cases)
        self._write_promise_statuses(decisions)
        evaluations = [e for d in decisions.customers for e in d.plans]
        self.env["collection.plan"]._write_evaluations(evaluations)
        today = self.env["collection.statement"]._today(company, as_of)
        self.env["collection.plan"]._record_installment_reminders(company, evaluations, today, naive_now)

    @api.model
    def _opens_case(self, decision, closed_stage):
        """Whether a customer without a case gets one: something to follow up (not closed) or an action to take."""
        return decision.stage != closed_stage or bool(decision.actions)

    @api.model
    def _close_cases(self, company, closing, naive_now):
        """Say on each closing case why it closes; thank the customers who paid after a reminder."""
        thanks = []
        for case, values, reminded in closing:
            if values["open_amount"] <= 0 and values["credit_amount"] > 0:
                reason = self.env._("Case closed: the customer's credits cover the balance.")
            elif values["open_amount"] <= 0:
                reason = self.env._("Case closed: paid in full.")
            else:
                reason = self.env._("Case closed: nothing is overdue any more.")
            case._message_log(body=reason)
            if company.collection_thank_you and reminded and values["open_amount"] <= 0:
                thanks.append(
                    {
                        "key": f"{THANK_YOU}-{case.id}-{naive_now.date().isoformat()}",
                        "case_id": case.id,
                        "level_key": THANK_YOU,
                        "channel": "email",
                        "tone": "friendly",
                        "amount_due": 0.0,
                        "not_before": naive_now,
                        "planned_at": naive_now,
                        "cost": company.collection_cost_email,
                        "reason": self.env._("Thank you for your payment"),
                    }
                )
        if thanks:
            Action = self.env["collection.action"]
            known = set(Action.search([("key", "in", [t["key"] for t in thanks])]).mapped("key"))
            Action.create([t for t in thanks if t["key"] not in known])

    @api.model
    def _cancel_obsolete_actions(self, company, decisions, statements, cases):
        """Cancel pending actions whose items are no longer due (paid, disputed, promised, held), with why."""
        holds = {int(d.customer_id): d.hold_reason for d in decisions.customers}
        pending = self.env["collection.action"].search(
            [
                ("company_id", "=", company.id),
                ("state", "in", PENDING),
                ("partner_id", "in", list(holds)),
                ("level_key", "!=", THANK_YOU),
            ]
        )
        for action in pending:
            partner_id = action.case_id.partner_id.id
            statement = statements.get(str(partner_id))
            reason = action._obsolete_reason(statement, holds.get(partner_id)) if statement else False
            if reason:
                action._cancel(reason)

    @api.model
    def _write_promise_statuses(self, decisions):
        evaluations = {int(e.promise_id): e for d in decisions.customers for e in d.promises}
        for promise in self.env["collection.promise"].browse(list(evaluations)):
            evaluation = evaluations[promise.id]
            if promise.status != evaluation.status or promise.paid_amount != float(evaluation.paid):
                promise.write({"status": evaluation.status, "paid_amount": float(evaluation.paid)})

    @api.model
    def _update_cases(self, updates):
        """Write every case of a batch in one UPDATE ... FROM (VALUES ...), whatever the batch size."""
        self._bulk_update("collection.case", updates)

    @api.model
    def _bulk_update(self, model, updates):
        """Write ``[(id, {field: value})]`` with one UPDATE ... FROM (VALUES ...) per set of fields.

        For plain stored columns of our own models (no computed field depends on them, no
        tracking): a batch of a thousand records costs one statement instead of a thousand.
        """
        Model = self.env[model]
        by_columns = {}
        for record_id, values in updates:
            by_columns.setdefault(tuple(values), []).append((record_id, values))
        for columns, group in by_columns.items():
            casts = {name: Model._fields[name].column_type[1] for name in columns}
            as_json = {name for name in columns if Model._fields[name].type == "json"}  # a list is not an ARRAY

            def cell(name, value, as_json=as_json):
                if name in as_json:
                    return None if value is None else json.dumps(value)
                return value if value is not False else None

            rows = [[record_id, *[cell(name, values[name]) for name in columns]] for record_id, values in group]
            placeholders = ", ".join(["(%s" + ", %s" * len(columns) + ")"] * len(rows))
            assignments = ", ".join(f'"{name}" = v."{name}"::{casts[name]}' for name in columns)
            names = ", ".join(f'"{name}"' for name in columns)
            self.env.cr.execute(
                f'UPDATE "{Model._table}" AS t SET {assignments}, write_uid = %s, '
                f"write_date = (now() at time zone 'UTC') FROM (VALUES {placeholders}) AS v(id, {names}) "
                "WHERE t.id = v.id",
                [self.env.uid, *[value for row in rows for value in row]],
            )
            Model.browse([record_id for record_id, _values in group]).invalidate_recordset(list(columns))

    @api.model
    def _record_actions(self, company, decisions, cases, strategies, naive_now):
        actions = decisions.actions()
        if not actions:
            return
        Action = self.env["collection.action"]
        known = set(
            Action.search([("company_id", "=", company.id), ("key", "in", [a.key for a in actions])]).mapped("key")
        )
        values = []
        for action in actions:
            if action.key in known:
                continue
            strategy = strategies.get(action.strategy)
            levels = strategy._variant_levels(action.variant) if strategy else None
            level = levels.filtered(lambda lvl, key=action.level: lvl.key == key)[:1] if strategy else False
            values.append(
                {
                    "key": action.key,
                    "case_id": cases[int(action.customer_id)].id,
                    "level_id": level.id if level else False,
                    "level_key": action.level,
                    "strategy_key": action.strategy,
                    "variant": action.variant,
                    "channel": action.channel,
                    "tone": action.tone,
                    "move_line_ids": [(6, 0, [int(item_id) for item_id in action.item_ids])],
                    "amount_due": float(action.amount_due),
                    "not_before": action.not_before.astimezone(timezone.utc).replace(tzinfo=None),
                    "planned_at": naive_now,
                    "state": "scheduled",
                    "cost": float(action.cost),
                    "reason": action.reason,
                    "reason_parts": [[part.code, dict(part.params)] for part in action.reason_parts],
                    "call_script": action.call_script or False,
                }
            )
        created = Action.create(values)
        # the invoices show the level reached; one UPDATE per level (an ORM write of account.move
        # would re-synchronise each invoice's lines, about 40 ms per invoice, for one column of ours)
        for level, group in self._group_by_level(created).items():
            moves = group.move_line_ids.move_id
            self.env.cr.execute(
                "UPDATE account_move SET collection_level_id = %s WHERE id IN %s", [level.id, tuple(moves.ids)]
            )
            moves.invalidate_recordset(["collection_level_id"])

    @api.model
    def _group_by_level(self, actions):
        groups = {}
        for action in actions.filtered("level_id"):
            groups.setdefault(action.level_id, self.env["collection.action"])
            groups[action.level_id] |= action
        return groups

    @api.model
    def _cron_send_due_actions(self):
        """Send what has come due since the daily run (contact windows put many sends later in the day)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        budget = SEND_PER_CRON_CALL
        for company in self.env["res.company"].search([]):
            budget -= self.with_company(company)._execute_due_actions(company, now, limit=budget)
            if budget <= 0:
                break

    @api.model
    def _execute_due_actions(self, company, as_of, batch_size=50, limit=None):
        """Send the scheduled actions whose time has come; manual ones become the collector's tasks.

        A batch of actions runs in one savepoint; when one of them fails, the batch is rolled back
        and sent again one action per savepoint, so the failing one is marked failed with the error
        and the others go out. Nothing leaves the database inside the transaction: emails and SMS
        are queued (Odoo's mail and SMS queues send them after the commit). Outside tests the work
        is committed every ``batch_size`` actions, so a stopped run loses nothing and sends nothing
        twice (a sent action is no longer scheduled).
        """
        domain = [
            ("company_id", "=", company.id),
            ("state", "=", "scheduled"),
            ("not_before", "<=", as_of.astimezone(timezone.utc).replace(tzinfo=None)),
        ]
        Action = self.env["collection.action"]
        due = Action.search(domain, order="not_before, id", limit=limit)
        left = Action.search_count(domain) - len(due) if limit else 0  # the cron runs again while work is left
        commit = self._may_commit()
        letters = {}  # case id -> statement attachment, rendered once per case in a run
        due = due.with_context(collection_letters=letters, mail_notify_force_send=False)
        minimums = Action._minimums()
        for start in range(0, len(due), batch_size):
            batch = due[start : start + batch_size]
            # the statements of the batch's cases, read from the ledger now: one query for the batch
            documents = self.env["collection.statement"]._for_actions(batch, when=as_of)
            if not self._send_batch(batch, documents, minimums, letters):
                for action in batch:
                    self._send_batch(action, documents, minimums, letters, isolated=True)
            self.env["ir.cron"]._notify_progress(
                done=min(len(due), start + batch_size), remaining=max(0, len(due) - start - batch_size) + left
            )
            if commit:
                # finished batches stay sent: a stopped cron sends nothing twice and loses nothing
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return len(due)

    @api.model
    def _send_batch(self, actions, documents, minimums, letters, isolated=False):
        """Execute actions in one savepoint and write their cases' new figures; False if it was rolled back.

        ``isolated`` (a single action): a failure marks the action failed with its error instead.
        """
        case_values = {}
        action_values = {}  # action id -> what it became (sent, to do, cancelled...), written at the end
        tasks = []  # (action id, statement) of the calls, letters and WhatsApp messages, for their activities
        try:
            with self.env.cr.savepoint():
                thread_cache = {"case_ids": actions.case_id.ids}
                batch = actions.with_context(
                    collection_tasks=tasks, collection_thread_cache=thread_cache, collection_action_values=action_values
                )
                for action in batch:
                    action._execute(documents[action.id], minimums, case_values)
                self.env.flush_all()
                self._update_cases(list(case_values.items()))
                self._bulk_update("collection.action", list(action_values.items()))
                self.env["collection.action"].browse([t[0] for t in tasks])._ensure_activity(dict(tasks))
            return True
        except Exception as err:  # noqa: BLE001 - one bad action must not stop the others
            for case_id in actions.case_id.ids:
                letters.pop(case_id, None)  # rolled back with the savepoint
            if not isolated:
                return False
            _logger.warning("collection action %s failed: %s", actions.key, err)
            actions.write({"state": "failed", "error": str(err), "outcome": "failed"})
            return True


def policy_closed(stages):
    """Key of the stage with the closed role (cases are not created just to be closed)."""
    return next((key for key, stage in stages.items() if stage.role == "closed"), None)
