from datetime import date, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq
from odoo.tools.misc import hmac

from . import collection_phrases
from .collection_statement import STATEMENT

LINK_SCOPE = "account_collections.customer_link"


class CollectionCase(models.Model):
    _name = "collection.case"
    _description = "Collection Case"
    _inherit = ["mail.thread", "mail.activity.mixin", "portal.mixin"]
    _order = "overdue_amount desc, id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, tracking=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    stage_id = fields.Many2one(
        "collection.stage",
        tracking=True,
        group_expand="_read_group_stage_ids",
        domain="[('company_id', 'in', (company_id, False))]",
    )
    user_id = fields.Many2one("res.users", string="Collector", tracking=True)
    team_id = fields.Many2one(
        "collection.team",
        string="Team",
        compute="_compute_team_id",
        store=True,
        readonly=False,
        tracking=True,
        help="The collector's team (set by the collector; can be changed).",
    )
    risk_score = fields.Float(digits=(5, 2), readonly=True)
    risk_category_id = fields.Many2one("collection.risk.category", readonly=True, tracking=True)
    risk_color = fields.Integer(related="risk_category_id.color")
    risk_explanation = fields.Text(string="Risk Explanation (English)", readonly=True)
    risk_factors = fields.Json(readonly=True, help="What raised the risk score: factor, value and points.")
    risk_explanation_display = fields.Text(
        string="Risk Explanation",
        compute="_compute_risk_explanation_display",
        help="What raised the customer's risk score, biggest first.",
    )
    level_id = fields.Many2one("collection.level", string="Level Reached", readonly=True, tracking=True)
    strategy_id = fields.Many2one("collection.strategy", readonly=True)
    variant = fields.Char(readonly=True)
    variant_name = fields.Char(
        string="A/B Variant",
        compute="_compute_variant_name",
        help="The variant of the strategy this customer follows (the strategy itself when it has no variants).",
    )
    open_amount = fields.Monetary(
        string="Balance", readonly=True, help="Everything open, less open credit notes and unapplied payments."
    )
    overdue_amount = fields.Monetary(
        string="Overdue",
        readonly=True,
        help="Instalments past their due date, not disputed and not under a promise or payment plan.",
    )
    amount_due = fields.Monetary(
        string="To Collect",
        readonly=True,
        help="What reminders ask for: the overdue amount, less the credits when they are deducted.",
    )
    disputed_amount = fields.Monetary(string="Disputed", readonly=True, help="Under review: never asked for.")
    arranged_amount = fields.Monetary(
        string="Promised or in a Plan", readonly=True, help="Covered by a pending promise or an active payment plan."
    )
    upcoming_amount = fields.Monetary(string="Not Yet Due", readonly=True)
    amount_at_risk = fields.Monetary(
        readonly=True,
        help="Predicted by the daily run: each open item times the probability that it is paid late (an item "
        "already late counts in full).",
    )
    not_due_risk = fields.Float(
        string="Risk on Items Not Yet Due (%)",
        digits=(16, 1),
        readonly=True,
        help="Of what is not due yet, the share expected to be paid late (the probability weighted by amount).",
    )
    expected_payment_date = fields.Date(
        string="Expected Paid By",
        readonly=True,
        help="When the daily run's payment prediction expects the last open item to be paid.",
    )
    credit_amount = fields.Monetary(
        string="Credits", readonly=True, help="Open credit notes and unapplied payments of the customer."
    )
    oldest_days_overdue = fields.Integer(readonly=True)
    collection_recipients = fields.Text(related="partner_id.collection_recipients")
    next_review_date = fields.Date(readonly=True)
    hold_reason = fields.Selection(
        [
            ("do_not_dun", "Do not dun"),
            ("paused", "Paused"),
            ("credit_covers_overdue", "Credit covers the overdue amount"),
            ("below_minimum", "Below the minimum amount"),
        ],
        readonly=True,
    )
    last_run = fields.Datetime(readonly=True)
    action_ids = fields.One2many("collection.action", "case_id", string="Actions")
    promise_ids = fields.One2many("collection.promise", "case_id", string="Promises to Pay")
    plan_ids = fields.One2many("collection.plan", "case_id", string="Payment Plans")
    next_action_id = fields.Many2one("collection.action", compute="_compute_next_action_id")
    contact_wait = fields.Char(
        string="Next Contact Waits",
        compute="_compute_contact_wait",
        help="Why the next contact is not sent at once: the contact rules of the customer's country or of the "
        "company, and when the next window opens (customer's local time).",
    )
    open_line_ids = fields.Many2many(
        "account.move.line", string="Open Items", compute="_compute_open_line_ids", help="One line per instalment."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("partner_company_uniq", "unique(partner_id, company_id)", "A customer has one collection case per company."),
    ]

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends_context("lang")
    @api.depends("risk_explanation", "risk_factors")
    def _compute_risk_explanation_display(self):
        for case in self:
            case.risk_explanation_display = (
                collection_phrases.render_factors(case.env, case.risk_factors)
                if case.risk_factors is not None
                else case.risk_explanation
            )

    @api.depends("variant", "strategy_id")
    def _compute_variant_name(self):
        for case in self:
            key = case.variant or ""
            variant = case.strategy_id.variant_ids.filtered(lambda v, key=key: v.key == key)[:1]
            if variant:
                case.variant_name = variant.name
            elif case.strategy_id and case.strategy_id.variant_ids:
                case.variant_name = case.env._("%(strategy)s (control)", strategy=case.strategy_id.name)
            else:
                case.variant_name = case.strategy_id.name or False

    @api.depends("user_id", "company_id")
    def _compute_team_id(self):
        teams = self.env["collection.team"].search([])
        for case in self:
            member_of = teams.filtered(
                lambda t, case=case: case.user_id
                and t.company_id == case.company_id
                and (case.user_id in t.member_ids or case.user_id == t.leader_id)
            )
            case.team_id = member_of[:1]

    def _compute_next_action_id(self):
        for case in self:
            pending = case.action_ids.filtered(lambda a: a.state in ("scheduled", "to_do")).sorted("not_before")
            case.next_action_id = pending[:1]

    @api.depends("action_ids.state", "action_ids.reason_parts", "action_ids.not_before")
    @api.depends_context("lang")
    def _compute_contact_wait(self):
        """Why the next contact waits (a country's law, the company's hours, a cap), in the reader's language."""
        for case in self:
            pending = case.action_ids.filtered(lambda a: a.state == "scheduled").sorted("not_before")
            waits = [
                [code, params]
                for action in pending[:1]
                for code, params in action.reason_parts or []
                if code.startswith("contact_wait_")
            ]
            case.contact_wait = collection_phrases.render_parts(case.env, waits) if waits else False

    @api.depends("partner_id", "company_id")
    def _compute_open_line_ids(self):
        for case in self:
            case.open_line_ids = self.env["account.move.line"].search(
                case._open_items_domain(), order="date_maturity, id"
            )

    def _compute_access_url(self):
        result = super()._compute_access_url()
        for case in self:
            case.access_url = f"/my/collections/{case.id}"
        return result

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        return stages.search([("company_id", "in", (self.env.company.id, False))])

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def _notify_get_recipients(self, message, msg_vals=False, **kwargs):
        """A reminder notifies its addressees only, not the case's followers (the collector reads the chatter)."""
        recipients = super()._notify_get_recipients(message, msg_vals=msg_vals, **kwargs)
        only = self.env.context.get("collection_notify_only")
        if only is not None:
            recipients = [data for data in recipients if data["id"] in only]
        return recipients

    def action_run_now(self):
        """Plan this customer again now (the manual counterpart of the daily run)."""
        self.env["collection.run"]._run_company(self.company_id, partners=self.partner_id)
        return True

    def action_send_statement(self):
        """Email each customer their statement of account now, as a PDF too, in their language."""
        stamp = fields.Datetime.now().strftime("%Y%m%d%H%M%S")
        actions = self._record_statements(stamp)
        if not actions:
            raise UserError(
                self.env._("No statement sent: the customer has no email address or does not accept emails.")
            )
        for action in actions:
            action._execute()
        return True

    def _record_statements(self, period):
        """Record one statement email per case and period (``statement-<case>-<period>``, so never twice).

        Customers without an email address or who opted out of emails get none.
        """
        Action = self.env["collection.action"]
        now = fields.Datetime.now()
        values = []
        reach = self.partner_id._collection_reach()
        for case in self:
            partner = case.partner_id
            if not reach[partner.id][0] or "email" in partner._collection_opted_out():
                continue
            values.append(
                {
                    "key": f"{STATEMENT}-{case.id}-{period}",
                    "case_id": case.id,
                    "level_key": STATEMENT,
                    "channel": "email",
                    "not_before": now,
                    "planned_at": now,
                    "cost": case.company_id.collection_cost_email,
                    "reason": self.env._("Statement of account"),
                }
            )
        known = set(Action.search([("key", "in", [v["key"] for v in values])]).mapped("key"))
        return Action.create([v for v in values if v["key"] not in known])

    @api.model
    def _cron_monthly_statements(self):
        """Record this month's statement of the customers who asked for one; the sending cron sends them."""
        period = fields.Date.context_today(self).strftime("%Y-%m")
        cases = self.search([("partner_id.collection_statement_monthly", "=", True)])
        for _company, company_cases in cases.grouped("company_id").items():
            company_cases._record_statements(period)
        self.env.ref("account_collections.ir_cron_collection_send_due")._trigger()

    def _collection_cleanup(self):
        """Cancel the pending actions whose items are no longer due (after a dispute, promise, plan or payment)."""
        pending = self.action_ids.filtered(lambda a: a.state in ("scheduled", "to_do") and a.level_key != "thank_you")
        if not pending:
            return
        documents = self.env["collection.statement"]._for_cases(pending.case_id)
        for action in pending:
            reason = action._obsolete_reason(documents[action.case_id.id].company_statement, None)
            if reason:
                action._cancel(reason)

    def _collection_statement(self, action=None, purpose=None):
        """The statement of account of the case as it stands now (what its customer reads)."""
        self.ensure_one()
        return self.env["collection.statement"]._for_cases(self, actions=action, purpose=purpose)[self.id]

    def _open_items_domain(self):
        self.ensure_one()
        return [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
            ("account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
        ]

    # ------------------------------------------------------------
    # CUSTOMER LINKS
    # ------------------------------------------------------------

    def _collection_link_signature(self, expiry):
        """HMAC of the case, its customer, its portal token and the expiry day (a new portal token revokes links)."""
        self.ensure_one()
        case = self.sudo()
        message = (case.id, case.partner_id.id, case._portal_ensure_token(), expiry.isoformat())
        return hmac(self.env(su=True), LINK_SCOPE, message)[:32]  # 128 bits: enough, and shorter SMS

    def _collection_link_token(self, expiry=None):
        """A signed token that opens this case's Payments Due page without logging in, until ``expiry``."""
        self.ensure_one()
        if not expiry:
            days = self.company_id.collection_link_days or 60
            expiry = fields.Date.context_today(self) + timedelta(days=days)
        return f"{expiry:%Y%m%d}.{self._collection_link_signature(expiry)}"

    def _collection_link_state(self, token):
        """``valid``, ``expired`` (authentic, past its day) or ``invalid`` (tampered, or another case's)."""
        self.ensure_one()
        day, _dot, signature = (token or "").partition(".")
        try:
            expiry = date(int(day[:4]), int(day[4:6]), int(day[6:8])) if len(day) == 8 else None
        except ValueError:
            expiry = None
        if not expiry or not signature or not consteq(signature, self._collection_link_signature(expiry)):
            return "invalid"
        return "expired" if expiry < fields.Date.context_today(self) else "valid"

    def get_portal_url(self, suffix=None, report_type=None, download=None, query_string=None, anchor=None):
        """The case's portal URL carries its signed, expiring token: the bare portal token opens nothing."""
        self.ensure_one()
        url = f"{self.access_url}{suffix or ''}?access_token={self._collection_link_token()}{query_string or ''}"
        return url + (f"#{anchor}" if anchor else "")

    def _collection_link(self, expiry=None, suffix=""):
        """The full signed URL of this case's Payments Due page (every reminder and letter prints it), or of
        another page of the case (``suffix``: ``/preferences``, ``/plan``, ``/statement``)."""
        self.ensure_one()
        token = self._collection_link_token(expiry)
        return f"{self.get_base_url()}{self.access_url}{suffix}?access_token={token}"

    def action_open_items(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.partner_id.display_name,
            "res_model": "account.move.line",
            "view_mode": "list",
            "domain": self._open_items_domain(),
        }

    # ------------------------------------------------------------
    # ASSIGNMENT
    # ------------------------------------------------------------

    def _assign_collectors(self):
        """Give each case without a collector the one its company's assignment rules pick, else the default one.

        Never the user running the job (OdooBot in the cron): a case no rule gives a valid collector
        stays unassigned. The rules are read once per company and the cases written once per
        collector, silently (a run opens many cases); the collector follows the case and gets its tasks.
        """
        Rule = self.env["collection.assignment.rule"]
        quiet = self.with_context(tracking_disable=True, mail_activity_quick_update=True)
        for cases in quiet.filtered(lambda c: not c.user_id).grouped("company_id").values():
            collectors = Rule._collectors_for(cases)
            for collector, assigned in cases.grouped(lambda c, found=collectors: found[c.id]).items():
                if collector:
                    assigned.write({"user_id": collector.id})
        return True

    def write(self, vals):
        if "user_id" not in vals:
            return super().write(vals)
        previous = {case.id: case.user_id for case in self}
        result = super().write(vals)
        self.filtered(lambda c: c.user_id and c.user_id != previous[c.id])._hand_over(previous)
        return result

    def _hand_over(self, previous):
        """The new collector follows the case (replies notify them) and takes over its open tasks.

        Activities move when they were the previous collector's or have no valid owner (none, OdooBot,
        an archived or portal user); other people's stay theirs. Tasks that waited for a collector
        (they get no activity while the case is unassigned) get theirs now.
        """
        Rule = self.env["collection.assignment.rule"]
        for collector, cases in self.grouped("user_id").items():
            cases.message_subscribe(partner_ids=collector.partner_id.ids)
            by_id = {case.id: case for case in cases}
            moving = cases.activity_ids.filtered(
                lambda a, by_id=by_id: a.user_id == previous[a.res_id]
                or not Rule._is_valid_collector(a.user_id, by_id[a.res_id].company_id)
            )
            moving.write({"user_id": collector.id})
        self.action_ids.filtered(lambda a: a.state == "to_do" and not a.activity_id)._ensure_activity()
