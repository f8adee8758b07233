from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

ASSIGNMENT_METHODS = [
    ("salesperson", "Customer's salesperson"),
    ("user", "A fixed collector"),
    ("team_round_robin", "Team members in turn"),
    ("team_load", "Least loaded team member"),
]
TEAM_METHODS = ("team_round_robin", "team_load")


class CollectionAssignmentRule(models.Model):
    """Who owns a case: its company's rules in sequence, the first giving a valid collector wins."""

    _name = "collection.assignment.rule"
    _description = "Collector Assignment Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    risk_category_ids = fields.Many2many(
        "collection.risk.category",
        string="Risk Categories",
        check_company=True,
        help="The rule applies to the cases of these risk categories only; empty: to every case.",
    )
    method = fields.Selection(
        ASSIGNMENT_METHODS,
        string="Assign To",
        required=True,
        default="salesperson",
        help="Customer's salesperson: the salesperson of the customer's company. A fixed collector: always the "
        "same person. Team members in turn: the member who was given a case least recently. Least loaded team "
        "member: the member with the fewest open cases.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Fixed Collector",
        domain=[("share", "=", False)],
        help="The collector of the cases of this rule.",
    )
    team_id = fields.Many2one(
        "collection.team",
        string="Collection Team",
        check_company=True,
        help="The collectors who share the cases of this rule.",
    )
    last_assigned_user_id = fields.Many2one(
        "res.users",
        string="Last Assigned Collector",
        readonly=True,
        help="In turn: the next case goes to the team member after this one.",
    )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("method", "user_id", "team_id")
    def _check_method_target(self):
        for rule in self:
            if rule.method == "user" and not rule.user_id:
                raise ValidationError(_("The rule %(rule)s assigns a fixed collector: choose them.", rule=rule.name))
            if rule.method in TEAM_METHODS and not rule.team_id:
                raise ValidationError(_("The rule %(rule)s assigns team members: choose the team.", rule=rule.name))

    # ------------------------------------------------------------
    # ASSIGNMENT
    # ------------------------------------------------------------

    @api.model
    def _collectors_for(self, cases):
        """The collector of each case of one company (case id -> user, empty when nobody valid is found).

        The company's rules are read once for all the cases; the round-robin turns and the members'
        loads are kept in memory as the cases are given out, and each rule's turn is saved once.
        """
        company = cases.company_id
        company.ensure_one()
        rules = self.sudo().search([("company_id", "=", company.id)])
        default = company.sudo().collection_default_user_id
        if not self._is_valid_collector(default, company):
            default = self.env["res.users"]
        state = {"turns": {}, "loads": {}}
        collectors = {}
        for case in cases:
            collector = default
            for rule in rules:
                picked = rule._collector_for(case, state) if rule._applies_to(case) else None
                if picked:
                    collector = picked
                    break
            if collector.id in state["loads"]:
                state["loads"][collector.id] += 1
            collectors[case.id] = collector
        for rule in rules.filtered(lambda r: r.id in state["turns"]):
            if rule.last_assigned_user_id.id != state["turns"][rule.id]:
                rule.last_assigned_user_id = state["turns"][rule.id]
        return collectors

    def _applies_to(self, case):
        self.ensure_one()
        return not self.risk_category_ids or case.risk_category_id in self.risk_category_ids

    def _collector_for(self, case, state):
        """The valid collector this rule gives the case, or an empty recordset."""
        self.ensure_one()
        if self.method in TEAM_METHODS:
            return self._team_member_for(case.company_id, state)
        user = self.user_id if self.method == "user" else case.partner_id.commercial_partner_id.user_id
        return user if self._is_valid_collector(user, case.company_id) else self.env["res.users"]

    def _team_member_for(self, company, state):
        """In turn: the member after the last one given a case (by id, around); by load: the least busy, then by id."""
        members = self.team_id.member_ids.filtered(lambda user: self._is_valid_collector(user, company))
        members = members.sorted(lambda user: user.id)
        if not members:
            return members
        if self.method == "team_round_robin":
            last = state["turns"].get(self.id, self.last_assigned_user_id.id or 0)
            member = members.filtered(lambda user: user.id > last)[:1] or members[:1]
            state["turns"][self.id] = member.id
            return member
        loads = state["loads"]
        missing = members.filtered(lambda user: user.id not in loads)
        if missing:
            loads.update(self._open_case_counts(missing))
        return min(members, key=lambda user: (loads[user.id], user.id))

    @api.model
    def _open_case_counts(self, users):
        """Open cases of each user: active, in a stage that is neither folded nor closed (in any company)."""
        groups = (
            self.env["collection.case"]
            .sudo()
            ._read_group(
                [
                    ("user_id", "in", users.ids),
                    ("active", "=", True),
                    "|",
                    ("stage_id", "=", False),
                    "&",
                    ("stage_id.fold", "=", False),
                    ("stage_id.role", "!=", "closed"),
                ],
                ["user_id"],
                ["__count"],
            )
        )
        counts = dict.fromkeys(users.ids, 0)
        counts.update({user.id: count for user, count in groups})
        return counts

    @api.model
    def _is_valid_collector(self, user, company):
        """A person who can own the company's cases: active, internal, allowed in it; never OdooBot or __system__."""
        user = user.sudo()
        root_id = self.env["ir.model.data"]._xmlid_to_res_id("base.user_root", raise_if_not_found=False)
        return bool(
            len(user) == 1
            and user.active
            and not user.share
            and not user._is_superuser()
            and user.id != root_id
            and user.login != "__system__"
            and company in user.company_ids
        )
