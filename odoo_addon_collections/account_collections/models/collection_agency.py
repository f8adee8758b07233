"""Collection agencies: partners who collect on a commission the cases handed over to them."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CollectionAgency(models.Model):
    _name = "collection.agency"
    _description = "Collection Agency"
    _order = "name, id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Agency",
        required=True,
        index=True,
        help="The agency's contact: the hand-over pack is sent to it and its commission is billed by it.",
    )
    name = fields.Char(related="partner_id.name", store=True)
    commission_pct = fields.Float(
        string="Commission (%)",
        digits=(5, 2),
        required=True,
        help="The share of what the agency recovers that it keeps, from 0 to 100.",
    )
    commission_product_id = fields.Many2one(
        "product.product",
        string="Commission Product",
        help="When set, each recovery creates the agency's draft vendor bill of the commission with this "
        "product (its expense account and taxes).",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    active = fields.Boolean(default=True)
    case_ids = fields.One2many("collection.case", "agency_id", string="Cases")
    recovery_ids = fields.One2many("collection.agency.recovery", "agency_id", string="Recoveries")
    case_count = fields.Integer(string="Cases with the Agency", compute="_compute_totals")
    handed_over_amount = fields.Monetary(
        string="Handed Over",
        compute="_compute_totals",
        help="What the cases now with the agency owed when handed over.",
    )
    recovered_amount = fields.Monetary(string="Recovered", compute="_compute_totals")
    commission_amount = fields.Monetary(string="Commission", compute="_compute_totals")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("case_ids.handed_over_amount", "recovery_ids.amount", "recovery_ids.commission_amount")
    def _compute_totals(self):
        for agency in self:
            agency.case_count = len(agency.case_ids)
            agency.handed_over_amount = sum(agency.case_ids.mapped("handed_over_amount"))
            agency.recovered_amount = sum(agency.recovery_ids.mapped("amount"))
            agency.commission_amount = sum(agency.recovery_ids.mapped("commission_amount"))

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("commission_pct")
    def _check_commission_pct(self):
        for agency in self:
            if not 0 <= agency.commission_pct <= 100:
                raise ValidationError(
                    self.env._(
                        "The commission of %(agency)s must be between 0 and 100 %%, not %(pct)s.",
                        agency=agency.display_name,
                        pct=agency.commission_pct,
                    )
                )
