from odoo import api, fields, models

from odoo.addons.base.models.res_partner import _tz_get


class CollectionContactCountry(models.Model):
    """When customers of one country may be contacted (their own timezone, hours and weekdays)."""

    _name = "collection.contact.country"
    _description = "Contact Rule per Country"
    _order = "country_id"

    country_id = fields.Many2one("res.country", required=True)
    tz = fields.Selection(_tz_get, string="Timezone", help="Empty: the customer's or the company's timezone.")
    hours = fields.Char(
        string="Contact Hours",
        required=True,
        default="09:00-13:00,15:00-18:00",
        help="Local hours, e.g. 09:00-13:00,15:00-18:00",
    )
    weekdays = fields.Char(
        string="Contact Weekdays (ISO Numbers)", required=True, default="1,2,3,4,5", help="ISO weekdays, 1 = Monday"
    )
    weekday_ids = fields.Many2many(
        "collection.weekday",
        string="Contact Days",
        compute="_compute_weekday_ids",
        inverse="_inverse_weekday_ids",
        help="The days of the week the customers of the country may be contacted.",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)

    _sql_constraints = [
        ("country_company_uniq", "unique(country_id, company_id)", "One contact rule per country and company."),
    ]

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("weekdays")
    def _compute_weekday_ids(self):
        for rule in self:
            rule.weekday_ids = self.env["collection.weekday"]._from_text(rule.weekdays)

    def _inverse_weekday_ids(self):
        for rule in self:
            rule.weekdays = rule.weekday_ids._as_text()
