from odoo import api, fields, models
from odoo.tools.misc import format_date, formatLang

from odoo.addons.account_collections.models import collection_phrases


class CollectionCase(models.Model):
    _inherit = "collection.case"

    credit_hold = fields.Boolean(
        readonly=True,
        index=True,
        help="Set by the daily run when a credit hold rule or a manual hold holds the customer, lifted by the "
        "first run after the cause is gone: the customer's quotations cannot be confirmed meanwhile.",
    )
    credit_hold_since = fields.Date(string="On Credit Hold Since", readonly=True)
    credit_hold_parts = fields.Json(readonly=True, help="Why the customer is on credit hold: the engine's phrases.")
    credit_hold_reason = fields.Text(string="Credit Hold Reason (English)", readonly=True)
    credit_hold_display = fields.Text(
        string="Credit Hold Reason", compute="_compute_credit_hold_display", help="Why new orders wait."
    )
    credit_hold_amount = fields.Monetary(
        string="Overdue on Credit Hold",
        readonly=True,
        help="What was overdue (neither disputed nor under a promise or plan), net of credits, at the last run.",
    )
    credit_hold_manual_reason = fields.Char(string="Manual Hold", readonly=True, tracking=True)
    credit_hold_manual_user_id = fields.Many2one("res.users", string="Manual Hold By", readonly=True)
    credit_hold_manual_date = fields.Date(string="Manual Hold Date", readonly=True)

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends_context("lang")
    @api.depends("credit_hold_parts", "credit_hold_reason")
    def _compute_credit_hold_display(self):
        for case in self:
            parts = case.credit_hold_parts
            case.credit_hold_display = (
                collection_phrases.render_parts(case.env, parts) if parts else case.credit_hold_reason or False
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_credit_hold_manual(self):
        """Open the wizard that puts the customer on credit hold with a reason."""
        self.ensure_one()
        return self.partner_id.with_company(self.company_id).action_collection_credit_hold()

    def action_credit_hold_release(self):
        """Release the manual hold (logged); the run that follows lifts the hold unless a rule still holds."""
        for case in self.filtered("credit_hold_manual_reason"):
            case.message_post(
                body=self.env._(
                    "Manual credit hold released by %(user)s (it was: %(reason)s).",
                    user=self.env.user.name,
                    reason=case.credit_hold_manual_reason,
                )
            )
            case.write(
                {
                    "credit_hold_manual_reason": False,
                    "credit_hold_manual_user_id": False,
                    "credit_hold_manual_date": False,
                }
            )
            case._credit_hold_refresh()
        return True

    def _credit_hold_refresh(self):
        """Plan the customer again now (nothing is sent): the engine decides the hold at once."""
        for case in self:
            self.env["collection.run"]._run_company(case.company_id, partners=case.partner_id, send=False)

    # ------------------------------------------------------------
    # WHAT THE SALESPERSON READS
    # ------------------------------------------------------------

    def _credit_hold_summary(self):
        """One paragraph: who is held, since when, why and how much."""
        self.ensure_one()
        currency = self.company_id.currency_id
        return self.env._(
            "%(customer)s is on credit hold in %(company)s since %(since)s: %(why)s. Overdue: %(overdue)s; "
            "balance: %(balance)s.",
            customer=self.partner_id.display_name,
            company=self.company_id.name,
            since=format_date(self.env, self.credit_hold_since) if self.credit_hold_since else "-",
            why=self.credit_hold_display or "-",
            overdue=formatLang(self.env, self.credit_hold_amount, currency_obj=currency),
            balance=formatLang(self.env, self.open_amount, currency_obj=currency),
        )
