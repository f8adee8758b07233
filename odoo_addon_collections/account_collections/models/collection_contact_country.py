from collections_engine.contact_presets import AUDIENCES, PRESET_COUNTRIES, preset_for
from collections_engine.errors import PolicyError
from collections_engine.windows import day_intervals

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get


class CollectionContactCountry(models.Model):
    """When customers of one country may be contacted: the country's legal preset (hours, days without
    contact, public holidays, caps, channels), which the company may only tighten, or its own hours."""

    _name = "collection.contact.country"
    _description = "Contact Rule per Country"
    _order = "country_id"

    country_id = fields.Many2one("res.country", required=True)
    tz = fields.Selection(_tz_get, string="Timezone", help="Empty: the customer's, the preset's or the company's.")
    use_preset = fields.Boolean(
        string="Legal Preset",
        help="Follow the collection-contact rules of the country's law (hours per weekday, days without contact, "
        "public holidays, caps per channel, channels allowed). Your own hours and caps can only tighten them.",
    )
    preset_available = fields.Boolean(compute="_compute_preset")
    preset_summary = fields.Text(string="What the Preset Allows", compute="_compute_preset")
    hours = fields.Char(
        string="Contact Hours",
        help="Local hours, e.g. 09:00-13:00,15:00-18:00. Empty: the preset's, else the company's.",
    )
    weekdays = fields.Char(
        string="Contact Weekdays (ISO Numbers)",
        help="ISO weekdays, 1 = Monday. Empty: the preset's, else the company's.",
    )
    weekday_ids = fields.Many2many(
        "collection.weekday",
        string="Contact Days",
        compute="_compute_weekday_ids",
        inverse="_inverse_weekday_ids",
        help="The days of the week the customers of the country may be contacted (empty: the preset's, else the "
        "company's).",
    )
    holidays = fields.Boolean(
        string="No Contact on Public Holidays",
        help="No contact on the public holidays of the customer's country (and region, from the state of the "
        "address). A preset that forbids them keeps them forbidden.",
    )
    max_per_day = fields.Integer(
        string="Contacts per Day", help="At most this many contact occasions a local day (0: the preset's or none)."
    )
    max_per_7_days = fields.Integer(
        string="Contacts in 7 Days", help="At most this many in any 7 consecutive local days (0: the preset's or none)."
    )
    min_days_between = fields.Integer(
        string="Days Between Contacts", help="At least this many days between two contacts (0: the preset's or none)."
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)

    _sql_constraints = [
        ("country_company_uniq", "unique(country_id, company_id)", "One contact rule per country and company."),
        (
            "caps_not_negative",
            "CHECK(max_per_day >= 0 AND max_per_7_days >= 0 AND min_days_between >= 0)",
            "Contact caps cannot be negative.",
        ),
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
            rule.weekdays = rule.weekday_ids._as_text() if rule.weekday_ids else False

    @api.depends("country_id")
    def _compute_preset(self):
        for rule in self:
            code = rule.country_id.code
            rule.preset_available = code in PRESET_COUNTRIES
            rule.preset_summary = (
                "\n\n".join(self._describe_preset(preset_for(code, audience)) for audience in AUDIENCES)
                if rule.preset_available
                else False
            )

    @api.model
    def _describe_preset(self, preset):
        """What a preset allows, in the user's language: hours per weekday, holidays, caps, channels, sources."""
        env = self.env
        weekdays = {day.iso: day.name for day in env["collection.weekday"].search([])}
        audience = env._("Consumers") if preset.audience == "b2c" else env._("Businesses")
        intervals = day_intervals(preset.window)
        days = []
        for number in range(1, 8):
            spans = intervals.get(number)
            hours = (
                ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in spans)
                if spans
                else env._("no contact")
            )
            days.append(f"{weekdays.get(number, number)} {hours}")
        lines = [f"{audience}: " + "; ".join(days)]
        if preset.holidays:
            lines.append(env._("No contact on public holidays."))
        caps = []
        if preset.max_per_day:
            caps.append(env._("%(count)s a day", count=preset.max_per_day))
        if preset.max_per_7_days:
            caps.append(env._("%(count)s in 7 days", count=preset.max_per_7_days))
        for channel, cap in preset.channel_caps:
            if cap.per_day:
                caps.append(env._("%(count)s %(channel)s a day", count=cap.per_day, channel=channel))
            if cap.per_7_days:
                caps.append(env._("%(count)s %(channel)s in 7 days", count=cap.per_7_days, channel=channel))
        if caps:
            lines.append(env._("At most: %s.", ", ".join(caps)))
        if preset.min_days_between:
            lines.append(env._("At least %s days between contacts.", preset.min_days_between))
        if preset.single_channel_per_7_days:
            lines.append(env._("One channel in any 7 days."))
        lines.append(env._("Source: %s", "; ".join(preset.sources)))
        return "\n".join(lines)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains(
        "country_id", "use_preset", "hours", "weekdays", "holidays", "max_per_day", "max_per_7_days", "min_days_between"
    )
    def _check_against_the_engine(self):
        """The engine reads the rule as the run will: hours that do not parse, a day outside the preset, a
        cap above the law's, or holidays without the holidays package are refused, naming the field."""
        from collections_engine import policy_from_dict

        run = self.env["collection.run"]
        for company in self.company_id:
            document = run._policy_document(company)
            try:
                policy_from_dict(document)
            except PolicyError as err:
                codes = self.filtered(lambda r, company=company: r.company_id == company).country_id.mapped("code")
                mine = [p for p in err.problems if any(p.startswith(f"contact.countries.{code}") for code in codes)]
                if mine:
                    raise ValidationError(
                        self.env._("This contact rule is not valid:\n%(problems)s", problems="\n".join(mine))
                    ) from err

    # ------------------------------------------------------------
    # POLICY
    # ------------------------------------------------------------

    def _policy_rule(self):
        """The rule as the engine's policy reads it (``contact.countries.<code>``)."""
        self.ensure_one()
        from .collection_run import _hours, _weekdays

        rule = {}
        if self.hours:
            rule["hours"] = _hours(self.hours)
        if self.weekdays:
            rule["weekdays"] = _weekdays(self.weekdays)
        if self.tz:
            rule["timezone"] = self.tz
        if self.use_preset and self.country_id.code in PRESET_COUNTRIES:
            rule["preset"] = self.country_id.code
        if self.holidays:
            rule["holidays"] = True
        for name in ("max_per_day", "max_per_7_days", "min_days_between"):
            if self[name]:
                rule[name] = self[name]
        return rule
