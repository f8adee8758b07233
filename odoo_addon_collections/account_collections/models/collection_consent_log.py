from collections_engine.types import CHANNELS

from odoo import api, fields, models

# The partner fields that say how a customer may be contacted, and what each change is called.
CONSENT_FIELDS = {
    **{f"collection_opt_out_{channel}": "opt_out" for channel in CHANNELS},
    "collection_preferred_channel": "preferred",
    "collection_hours": "hours",
    "collection_weekdays": "weekdays",
}


class CollectionConsentLog(models.Model):
    """One change of a customer's contact preferences: who changed what, when and where (proof of consent)."""

    _name = "collection.consent.log"
    _description = "Contact Preference Change"
    _order = "date desc, id desc"

    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade", index=True)
    change = fields.Selection(
        [
            ("opt_out", "Channel opt-out"),
            ("preferred", "Preferred channel"),
            ("hours", "Contact hours"),
            ("weekdays", "Contact days"),
        ],
        required=True,
        readonly=True,
    )
    channel_id = fields.Many2one("collection.channel", readonly=True)
    old_value = fields.Char(string="Before", readonly=True)
    new_value = fields.Char(string="After", readonly=True)
    source = fields.Selection(
        [("portal", "Customer portal"), ("backend", "Backend user"), ("import", "Import")],
        required=True,
        readonly=True,
    )
    user_id = fields.Many2one("res.users", string="Changed By", default=lambda self: self.env.user, readonly=True)
    signed_link = fields.Boolean(
        string="Via Signed Link",
        readonly=True,
        help="Changed in the portal through the signed link of a reminder, without logging in.",
    )

    @api.model
    def _source(self):
        """Where a change comes from: the portal says so; an import is a file; else a user of the backend."""
        if self.env.context.get("collection_consent_source"):
            return self.env.context["collection_consent_source"]
        return "import" if self.env.context.get("import_file") else "backend"

    @api.model
    def _snapshot(self, partners):
        """``{partner id: {field: value}}`` of the consent fields, to compare before and after a write."""
        return {partner.id: {name: partner[name] for name in CONSENT_FIELDS} for partner in partners}

    @api.model
    def _log_changes(self, partners, before):
        """Log each consent field whose value differs from ``before``, one line per field and partner."""
        channels = {c.key: c for c in self.env["collection.channel"].sudo().search([])}
        selection = dict(partners._fields["collection_preferred_channel"]._description_selection(self.env))
        values = []
        for partner in partners:
            for name, change in CONSENT_FIELDS.items():
                old, new = before[partner.id][name], partner[name]
                if (old or False) == (new or False):
                    continue
                if change == "opt_out":
                    key = name.removeprefix("collection_opt_out_")
                    text = {True: self.env._("Opted out"), False: self.env._("Accepted")}
                    old, new, channel = text[bool(old)], text[bool(new)], channels.get(key)
                elif change == "preferred":
                    channel = channels.get(new or old)
                    old, new = selection.get(old, ""), selection.get(new, "")
                else:
                    channel = None
                values.append(
                    {
                        "partner_id": partner.id,
                        "change": change,
                        "channel_id": channel.id if channel else False,
                        "old_value": old or "",
                        "new_value": new or "",
                        "source": self._source(),
                        "signed_link": bool(self.env.context.get("collection_consent_signed_link")),
                    }
                )
        if values:
            self.sudo().create(values)
