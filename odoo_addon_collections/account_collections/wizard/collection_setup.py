from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.base.models.res_partner import _tz_get

from ..models.collection_action import MAIL_TEMPLATES

COLLECTOR_GROUP = "account_collections.group_collection_user"
MANAGER_GROUP = "account_collections.group_collection_manager"


class CollectionSetup(models.TransientModel):
    """The first-run setup of a company's collections: contact window, collectors, reminders.

    Offered to a manager who opens the app while the company is not set up; once applied, the
    company is set up and the app opens on its cases.
    """

    _name = "collection.setup"
    _description = "Set up Collections"

    company_id = fields.Many2one("res.company", required=True, readonly=True, default=lambda self: self.env.company)
    tz = fields.Selection(
        _tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.company.collection_tz or self.env.user.tz or "UTC",
        help="Of the contact hours, for customers without a timezone of their own.",
    )
    hours = fields.Char(
        string="Contact Hours",
        required=True,
        default=lambda self: self.env.company.collection_hours or "09:00-13:00,15:00-18:00",
        help="Local hours, e.g. 09:00-13:00,15:00-18:00",
    )
    weekday_ids = fields.Many2many(
        "collection.weekday",
        string="Contact Days",
        default=lambda self: self.env.company.collection_weekday_ids,
    )
    collector_ids = fields.Many2many(
        "res.users",
        string="Collectors",
        domain=[("share", "=", False)],
        default=lambda self: self._default_collectors(),
        help="The people who call, write and follow up; they get the Collections / User access and My Worklist "
        "as their home screen.",
    )
    default_user_id = fields.Many2one(
        "res.users",
        string="Default Collector",
        domain="[('id', 'in', collector_ids)]",
        default=lambda self: self.env.company.collection_default_user_id,
        help="Owns the cases no assignment rule gives a collector to.",
    )
    email_from = fields.Char(
        string="Sender",
        default=lambda self: self.env.company.collection_email_from,
        help="Sender of the reminders when a case's collector has no email address, e.g. Accounts Receivable "
        "<ar@example.com>.",
    )
    mail_template_ids = fields.Many2many(
        "mail.template",
        string="Email Templates",
        default=lambda self: self._default_mail_templates(),
        help="The reminders the levels send by their tone; open one to read or change it.",
    )

    @api.model
    def _default_collectors(self):
        company = self.env.company
        collectors = self.env["res.users"].search(
            [("groups_id", "in", self.env.ref(COLLECTOR_GROUP).id), ("company_ids", "in", company.id)]
        )
        Rule = self.env["collection.assignment.rule"]
        return collectors.filtered(lambda user: Rule._is_valid_collector(user, company))

    @api.model
    def _default_mail_templates(self):
        templates = self.env["mail.template"]
        for xmlid in dict.fromkeys(MAIL_TEMPLATES.values()):
            templates |= self.env.ref(xmlid, raise_if_not_found=False) or templates
        return templates

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    @api.model
    def _start_action(self):
        """What the Collections app opens on: the setup for a manager of a company not set up yet,
        else the cases (a manager) or My Worklist (a collector)."""
        manager = self.env.user.has_group(MANAGER_GROUP)
        if manager and not self.env.company.collection_setup_done:
            return self.env["ir.actions.act_window"]._for_xml_id("account_collections.action_collection_setup")
        xmlid = "action_collection_case" if manager else "action_collection_worklist"
        return self.env["ir.actions.act_window"]._for_xml_id(f"account_collections.{xmlid}")

    def action_apply(self):
        """Save the contact window, the collectors and the sender on the company: it is set up."""
        self.ensure_one()
        company = self.company_id
        Rule = self.env["collection.assignment.rule"]
        if not self.weekday_ids:
            raise UserError(self.env._("Choose the days customers may be contacted."))
        if self.default_user_id and not Rule._is_valid_collector(self.default_user_id, company):
            raise UserError(
                self.env._(
                    "%(user)s cannot collect for %(company)s.", user=self.default_user_id.name, company=company.name
                )
            )
        self._make_collectors()
        # only the company's collections fields, which its collections manager owns (res.company is the admin's)
        company.sudo().write(
            {
                "collection_tz": self.tz,
                "collection_hours": self.hours,
                "collection_weekday_ids": [fields.Command.set(self.weekday_ids.ids)],
                "collection_default_user_id": self.default_user_id.id,
                "collection_email_from": self.email_from,
                "collection_setup_done": True,
            }
        )
        self.env["collection.run"]._policy(company)  # a contact window the engine cannot read is refused here
        return self._cases_action()

    def action_later(self):
        """Open the cases without setting up: the setup is offered again next time."""
        return self._cases_action()

    def _make_collectors(self):
        """Give the chosen people the Collections / User access, and My Worklist as their home screen."""
        group = self.env.ref(COLLECTOR_GROUP)
        newcomers = self.collector_ids.filtered(lambda user: group not in user.groups_id)
        if not newcomers:
            return
        if not self.env.user.has_group("base.group_erp_manager"):
            raise UserError(
                self.env._(
                    "Only an administrator of access rights can make %(users)s collectors: ask them to give the "
                    "Collections / User access, or leave them out.",
                    users=", ".join(newcomers.mapped("name")),
                )
            )
        worklist = self.env.ref("account_collections.action_collection_worklist")
        newcomers.write({"groups_id": [fields.Command.link(group.id)]})
        # sudo: Odoo's check of a home action reads the action as the user, which an administrator of access
        # rights who is not a system administrator may not (res.users._check_action_id)
        newcomers.sudo().filtered(lambda user: not user.action_id).write({"action_id": worklist.id})

    def _cases_action(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("account_collections.action_collection_case")
        action["target"] = "main"  # the setup leaves no breadcrumb behind
        return action
