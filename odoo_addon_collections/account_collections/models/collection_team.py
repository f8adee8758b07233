from odoo import fields, models


class CollectionTeam(models.Model):
    """Collectors who share a portfolio, with the person who leads them."""

    _name = "collection.team"
    _description = "Collection Team"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    leader_id = fields.Many2one("res.users", string="Team Leader")
    member_ids = fields.Many2many("res.users", string="Collectors")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
