from collections_engine.types import CHANNELS as ENGINE_CHANNELS

from odoo import api, fields, models

from .collection_statement import PRE_DUE

# The engine's channels, in the order a level offers them (cheapest first), with their labels.
CHANNELS = ("email", "sms", "whatsapp", "call", "letter", "visit")
CHANNEL_SELECTION = [
    ("email", "Email"),
    ("sms", "SMS"),
    ("whatsapp", "WhatsApp"),
    ("call", "Call"),
    ("letter", "Letter"),
    ("visit", "Visit"),
]
assert set(CHANNELS) == set(ENGINE_CHANNELS) == {key for key, _label in CHANNEL_SELECTION}


class CollectionLevel(models.Model):
    _name = "collection.level"
    _description = "Follow-up Level"
    _order = "strategy_id, delay_days, id"

    name = fields.Char(required=True, translate=True)
    key = fields.Char(required=True, help="Use the same keys in every strategy so reached levels carry over.")
    strategy_id = fields.Many2one("collection.strategy", required=True, ondelete="cascade")
    delay_days = fields.Integer(
        string="Delay (days)", required=True, help="Days after the due date; negative for a reminder before it."
    )
    use_email = fields.Boolean(string="Email", default=True)
    use_sms = fields.Boolean(string="SMS")
    use_whatsapp = fields.Boolean(string="WhatsApp")
    use_call = fields.Boolean(string="Call")
    use_letter = fields.Boolean(string="Letter")
    use_visit = fields.Boolean(string="Visit")
    channel_mode = fields.Selection(
        [("choose", "Best channel"), ("all", "All channels")], default="choose", required=True
    )
    tone = fields.Selection(
        [("friendly", "Friendly"), ("neutral", "Neutral"), ("firm", "Firm"), ("formal", "Formal"), ("final", "Final")],
        default="neutral",
        required=True,
    )
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain=[("model", "=", "collection.case")],
        help="Leave empty to send the built-in reminder of the level's tone, in the customer's language.",
    )
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain=[("model", "=", "collection.case")],
        help="Leave empty to send the built-in text message.",
    )
    stage_id = fields.Many2one("collection.stage", string="Move Case to Stage")
    agency_id = fields.Many2one(
        "collection.agency",
        string="Hand Over to Agency",
        help="When the daily run reaches this level for a customer, the case is handed over to this agency: it "
        "receives the hand-over pack and we stop dunning.",
    )
    call_script = fields.Text(translate=True)
    attach_statement = fields.Boolean(
        help="Attach the statement of account as a printable document to the email (its body shows it anyway).",
    )
    attach_invoices = fields.Boolean(help="Attach the PDF of each overdue invoice to the email.")
    company_id = fields.Many2one(related="strategy_id.company_id", store=True)
    channel_ids = fields.Many2many(
        "collection.channel",
        string="Channels",
        compute="_compute_channel_ids",
        help="The channels the level may use, in the order it offers them.",
    )
    mail_template_used_id = fields.Many2one(
        "mail.template",
        string="Email Sent",
        compute="_compute_templates_used",
        help="The level's own email template, else the built-in reminder of its tone (before the due date: "
        "the courtesy reminder).",
    )
    sms_template_used_id = fields.Many2one(
        "sms.template",
        string="SMS Sent",
        compute="_compute_templates_used",
        help="The level's own SMS template, else the built-in text message.",
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_cost_estimate")
    cost_estimate = fields.Monetary(
        string="Cost per Customer",
        compute="_compute_cost_estimate",
        help="What the level costs for one customer at the channel costs of the Settings: the costs of all its "
        "channels when it uses all of them, the dearest channel's when it chooses the best one.",
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends(*(f"use_{channel}" for channel in CHANNELS))
    def _compute_channel_ids(self):
        channels = self.env["collection.channel"].search([])
        for level in self:
            used = set(level._channels())
            level.channel_ids = channels.filtered(lambda c, used=used: c.key in used)

    @api.depends("mail_template_id", "sms_template_id", "tone", "delay_days")
    def _compute_templates_used(self):
        Action = self.env["collection.action"]
        for level in self:
            purpose = PRE_DUE if level.delay_days < 0 else None
            level.mail_template_used_id = level.mail_template_id or Action._builtin_mail_template(purpose, level.tone)
            level.sms_template_used_id = level.sms_template_id or Action._builtin_sms_template(purpose, level.tone)

    @api.depends_context("company")
    @api.depends(*(f"use_{channel}" for channel in CHANNELS), "channel_mode", "company_id")
    def _compute_cost_estimate(self):
        for level in self:
            company = level.company_id or self.env.company
            costs = [company[f"collection_cost_{channel}"] for channel in level._channels()]
            level.currency_id = company.currency_id
            level.cost_estimate = sum(costs) if level.channel_mode == "all" else max(costs, default=0.0)

    # ------------------------------------------------------------
    # ENGINE
    # ------------------------------------------------------------

    def _channels(self):
        """Return the level's channels in the order of preference."""
        self.ensure_one()
        return [channel for channel in CHANNELS if self[f"use_{channel}"]]
