from odoo import fields, models


class CollectionWeekday(models.Model):
    """A day of the week, so contact windows show and edit their weekdays by name.

    Reference data: the seven ISO weekdays (1 = Monday), created with the addon. Contact windows
    keep their weekdays as the ISO numbers the policy document needs ("1,2,3,4,5"); the
    ``*_weekday_ids`` fields show and edit them as tags.
    """

    _name = "collection.weekday"
    _description = "Day of the Week"
    _order = "iso"

    name = fields.Char(required=True, translate=True)
    iso = fields.Integer(string="ISO Number", required=True, readonly=True, help="1 = Monday ... 7 = Sunday")

    _sql_constraints = [
        ("iso_uniq", "unique(iso)", "One record per day of the week."),
        ("iso_range", "CHECK(iso >= 1 AND iso <= 7)", "A day of the week is numbered 1 (Monday) to 7 (Sunday)."),
    ]

    def _as_text(self):
        """The days as the policy stores them: ISO numbers in order, e.g. "1,2,3,4,5" (empty: False)."""
        return ",".join(str(iso) for iso in sorted(set(self.mapped("iso")))) or False

    def _from_text(self, text):
        """The days of a stored "1,2,3,4,5"."""
        numbers = {int(part) for part in (text or "").split(",") if part.strip().isdigit()}
        return self.search([("iso", "in", sorted(numbers))]) if numbers else self.browse()
