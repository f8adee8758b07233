import json

from collections_engine.policy import DEFAULT_CHANNELS, DEFAULT_RISK_WEIGHTS

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get


def _cost(channel):
    return float(DEFAULT_CHANNELS[channel].cost)


def _weight(factor):
    return DEFAULT_RISK_WEIGHTS[factor]


class ResCompany(models.Model):
    _inherit = "res.company"

    collection_tz = fields.Selection(_tz_get, string="Collections Timezone", default="UTC")
    collection_hours = fields.Char(
        string="Contact Hours", default="09:00-13:00,15:00-18:00", help="Local hours, e.g. 09:00-13:00,15:00-18:00"
    )
    collection_weekdays = fields.Char(
        string="Contact Weekdays (ISO Numbers)", default="1,2,3,4,5", help="ISO weekdays, 1 = Monday"
    )
    collection_weekday_ids = fields.Many2many(
        "collection.weekday",
        string="Contact Days",
        compute="_compute_collection_weekday_ids",
        inverse="_inverse_collection_weekday_ids",
        help="The days of the week customers may be contacted.",
    )
    collection_max_per_day = fields.Integer(string="Contacts per Day", default=1)
    collection_max_per_week = fields.Integer(string="Contacts per Week", default=3)
    collection_audience = fields.Selection(
        [("b2c", "Consumers"), ("b2b", "Businesses")],
        string="Customers Are",
        default="b2c",
        help="Which contact preset of a country applies to a customer who is a person (a company is a business "
        "unless its own setting says otherwise). Consumer presets are the stricter ones.",
    )
    # in the company currency, as the actions' costs (Odoo converts the float columns of earlier versions)
    collection_cost_email = fields.Monetary(string="Cost of an Email", default=_cost("email"))
    collection_cost_sms = fields.Monetary(string="Cost of an SMS", default=_cost("sms"))
    collection_cost_whatsapp = fields.Monetary(string="Cost of a WhatsApp Message", default=_cost("whatsapp"))
    collection_cost_call = fields.Monetary(string="Cost of a Call", default=_cost("call"))
    collection_cost_letter = fields.Monetary(string="Cost of a Letter", default=_cost("letter"))
    collection_cost_visit = fields.Monetary(string="Cost of a Visit", default=_cost("visit"))
    collection_risk_avg_days_late = fields.Float(string="Weight: Average Days Late", default=_weight("avg_days_late"))
    collection_risk_late_share = fields.Float(string="Weight: Share Paid Late", default=_weight("late_share"))
    collection_risk_broken_promises = fields.Float(string="Weight: Broken Promises", default=_weight("broken_promises"))
    collection_risk_broken_plans = fields.Float(string="Weight: Broken Payment Plans", default=_weight("broken_plans"))
    collection_risk_overdue_ratio = fields.Float(string="Weight: Share Overdue Now", default=_weight("overdue_ratio"))
    collection_risk_credit_exposure = fields.Float(
        string="Weight: Credit Limit Used", default=_weight("credit_exposure")
    )
    collection_risk_dispute_share = fields.Float(string="Weight: Disputed Share", default=_weight("dispute_share"))
    collection_risk_payment_timing = fields.Float(
        string="Weight: Usual Payment Timing", default=_weight("payment_timing")
    )
    collection_credits_mode = fields.Selection(
        [("net", "Deduct them from the amount asked"), ("show", "Only list them")],
        string="Credits in Reminders",
        default="net",
        required=True,
        help="Open credit notes and unapplied payments are always listed on the statement; deducted, the "
        "reminder asks for the overdue amount less the credits.",
    )
    collection_thank_you = fields.Boolean(
        string="Thank Customers Who Pay", help="Email a thank-you when a customer who was reminded pays in full."
    )
    collection_email_from = fields.Char(
        string="Collections Email",
        help="Sender of collection emails when the case has no collector with an email address, e.g. "
        "Accounts Receivable <ar@example.com>. Replies reach the case in any case.",
    )
    collection_late_fees = fields.Boolean(
        string="Charge Late Fees",
        help="The daily run computes late fees and interest with the rules below (the engine's late_fees section).",
    )
    collection_late_fee_rules = fields.Text(
        string="Late Fee Rules",
        default='{"fixed": [{"amounts": {"EUR": 40}, "per": "invoice"}]}',
        help="The policy's late_fees section as JSON: a preset (EU, ES, CO, PE, MX) with the rates it needs, "
        "or fixed fees, percentages and interest; see docs/policy.md, Late fees.",
    )
    collection_fee_product_id = fields.Many2one(
        "product.product",
        string="Late Fee Product",
        help="Product of the fee lines: its income account and customer taxes apply.",
    )
    collection_fee_journal_id = fields.Many2one(
        "account.journal",
        string="Late Fee Journal",
        domain=[("type", "=", "sale")],
        help="Sales journal of the fee invoices.",
    )
    collection_setup_done = fields.Boolean(
        string="Collections Set Up",
        help="The first-run setup (contact window, collectors, reminders) was saved; the app no longer offers it.",
    )
    collection_link_days = fields.Integer(
        string="Customer Links Valid For (Days)",
        default=60,
        help="How long the link to the customer's Payments Due page in reminders and letters works without "
        "logging in.",
    )
    collection_default_user_id = fields.Many2one(
        "res.users",
        string="Default Collector",
        domain=[("share", "=", False)],
        help="Collector of the cases no assignment rule gives one to; without one, they stay unassigned.",
    )

    # ------------------------------------------------------------
    # CONSTRAINS
    # ------------------------------------------------------------

    @api.constrains(
        "collection_late_fees", "collection_late_fee_rules", "collection_fee_product_id", "collection_fee_journal_id"
    )
    def _check_collection_late_fees(self):
        for company in self.filtered("collection_late_fees"):
            if not company.collection_fee_product_id:
                raise ValidationError(self.env._("Late Fee Product: choose the product of the fee lines."))
            if not company.collection_fee_journal_id:
                raise ValidationError(self.env._("Late Fee Journal: choose the sales journal of the fee invoices."))
            if company.collection_fee_journal_id.company_id != company:
                raise ValidationError(self.env._("Late Fee Journal: the journal belongs to another company."))
            if not isinstance(company._collection_late_fee_section(), dict):
                raise ValidationError(self.env._('Late Fee Rules: a JSON object is expected, e.g. {"preset": "MX"}.'))
            # the rules themselves are checked by the engine with the whole policy (field path in the message)
            self.env["collection.run"]._policy(company)

    def _collection_late_fee_section(self):
        """The late_fees section of the policy as written in Settings (None when not valid JSON)."""
        self.ensure_one()
        try:
            return json.loads(self.collection_late_fee_rules or "{}")
        except ValueError:
            return None

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("collection_weekdays")
    def _compute_collection_weekday_ids(self):
        for company in self:
            company.collection_weekday_ids = self.env["collection.weekday"]._from_text(company.collection_weekdays)

    def _inverse_collection_weekday_ids(self):
        for company in self:
            company.collection_weekdays = company.collection_weekday_ids._as_text()
