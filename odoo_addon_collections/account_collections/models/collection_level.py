from collections_engine.types import CHANNELS as ENGINE_CHANNELS

from odoo import fields, models

# The engine's channels, in the order a level offers them (cheapest first), with their labels.
CHANNELS = ("email", "sms", "whatsapp", "call", "letter")
CHANNEL_SELECTION = [
    ("email", "Email"),
    ("sms", "SMS"),
    ("whatsapp", "WhatsApp"),
    ("call", "Call"),
    ("letter", "Letter"),
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
    call_script = fields.Text(translate=True)
    attach_statement = fields.Boolean(
        help="Attach the statement of account as a printable document to the email (its body shows it anyway).",
    )
    attach_invoices = fields.Boolean(help="Attach the PDF of each overdue invoice to the email.")
    company_id = fields.Many2one(related="strategy_id.company_id", store=True)

    def _channels(self):
        """Return the level's channels in the order of preference."""
        self.ensure_one()
        return [channel for channel in CHANNELS if self[f"use_{channel}"]]
