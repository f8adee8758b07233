from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    collection_credit_hold = fields.Boolean(
        string="Customer on Credit Hold",
        compute="_compute_collection_credit_hold",
        help="The customer is on credit hold in the order's company: the quotation cannot be confirmed unless a "
        "Collections manager overrides the hold for it.",
    )
    collection_credit_hold_message = fields.Text(
        string="Credit Hold Warning", compute="_compute_collection_credit_hold"
    )
    collection_hold_override_pending = fields.Boolean(
        string="Credit Hold Override Granted",
        readonly=True,
        copy=False,
        help="A Collections manager let this quotation be confirmed despite the hold: once, at its next "
        "confirmation.",
    )
    collection_hold_override_reason = fields.Text(string="Credit Hold Override Reason", readonly=True, copy=False)
    collection_hold_override_user_id = fields.Many2one(
        "res.users", string="Credit Hold Overridden By", readonly=True, copy=False
    )
    collection_hold_override_date = fields.Datetime(string="Credit Hold Overridden On", readonly=True, copy=False)

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends_context("lang")
    @api.depends(
        "partner_id.commercial_partner_id.collection_case_ids.credit_hold",
        "partner_id.commercial_partner_id.collection_case_ids.credit_hold_parts",
        "company_id",
        "state",
        "amount_total",
    )
    def _compute_collection_credit_hold(self):
        for order in self:
            case = order._collection_held_case() if order.state in ("draft", "sent") else None
            order.collection_credit_hold = bool(case)
            order.collection_credit_hold_message = case._credit_hold_summary() if case else False

    # ------------------------------------------------------------
    # CONFIRMATION
    # ------------------------------------------------------------

    def _collection_held_case(self):
        """The case that holds the customer in the order's company (a sudo record), or an empty recordset.

        An order paid in full gives no credit: it is never held.
        """
        self.ensure_one()
        Case = self.env["collection.case"].sudo()
        partner = self.partner_id.commercial_partner_id
        if not partner or not self.company_id or (self.amount_total and self._is_paid()):
            return Case
        return Case.search(
            [("partner_id", "=", partner.id), ("company_id", "=", self.company_id.id), ("credit_hold", "=", True)],
            limit=1,
        )

    def _confirmation_error_message(self):
        """A held customer's quotation is refused, saying why, how much and since when (unless overridden)."""
        error = super()._confirmation_error_message()
        if error or self.collection_hold_override_pending:
            return error
        case = self._collection_held_case()
        if not case:
            return error
        return self.env._(
            "%(order)s cannot be confirmed. %(hold)s\n"
            "Quotations of a customer on credit hold wait until the next collections run after the cause is gone "
            "(a payment, a lower balance, the manual hold released). A Collections manager can override the hold "
            "for this quotation, once, with a reason (Override Credit Hold).",
            order=self.name,
            hold=case._credit_hold_summary(),
        )

    def action_confirm(self):
        """Confirm; an override granted to a quotation is spent by its confirmation."""
        overridden = self.filtered("collection_hold_override_pending")
        result = super().action_confirm()
        overridden.write({"collection_hold_override_pending": False})
        return result

    def action_collection_override_hold(self):
        """Open the wizard where a Collections manager overrides the hold for this quotation, with a reason."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Override Credit Hold"),
            "res_model": "collection.credit.hold.override",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }
