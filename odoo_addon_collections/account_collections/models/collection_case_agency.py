"""Hand-over of a case to a collection agency: the pack, the end of our dunning, the take back."""

import csv
import io

from odoo import api, fields, models
from odoo.exceptions import UserError

PACK_STATES = ("done", "failed")  # the contacts made or tried: the history the agency reads


class CollectionCase(models.Model):
    _inherit = "collection.case"

    agency_id = fields.Many2one(
        "collection.agency",
        string="Agency",
        readonly=True,
        tracking=True,
        index=True,
        help="The collection agency the case is handed over to: while it has it, we send no reminders.",
    )
    handed_over_on = fields.Date(readonly=True)
    handed_over_amount = fields.Monetary(
        readonly=True, help="What the statement of account asked for when the case was handed over."
    )
    agency_line_ids = fields.Many2many(
        "account.move.line",
        "collection_case_agency_line_rel",
        string="Items Handed Over",
        readonly=True,
        help="The overdue items the agency collects; its recoveries settle them oldest due first.",
    )
    agency_recovery_ids = fields.One2many("collection.agency.recovery", "case_id", string="Agency Recoveries")
    agency_recovered_amount = fields.Monetary(string="Recovered by the Agency", compute="_compute_agency_amounts")
    agency_open_amount = fields.Monetary(
        string="Still with the Agency",
        compute="_compute_agency_amounts",
        help="What the items handed over still owe.",
    )

    @api.depends("agency_id", "agency_recovery_ids.amount", "agency_line_ids.amount_residual")
    def _compute_agency_amounts(self):
        for case in self:
            case.agency_recovered_amount = sum(
                case.agency_recovery_ids.filtered(lambda r, case=case: r.agency_id == case.agency_id).mapped("amount")
            )
            case.agency_open_amount = sum(case._agency_open_lines().mapped("amount_residual"))

    # ------------------------------------------------------------
    # HAND-OVER
    # ------------------------------------------------------------

    def _agency_open_lines(self):
        self.ensure_one()
        return self.agency_line_ids.filtered(lambda line: not line.reconciled and line.amount_residual > 0)

    def _agency_stage(self):
        """The stage of the cases with an agency: the company's own, else the shared one."""
        self.ensure_one()
        stages = self.env["collection.stage"].search(
            [("agency_stage", "=", True), ("company_id", "in", (self.company_id.id, False))]
        )
        return stages.filtered(lambda s: s.company_id == self.company_id)[:1] or stages[:1]

    def _hand_over_to_agency(self, agency, note=False, triggered_by=None):
        """Hand the case over: the pack to the agency, our pending actions cancelled, the case in its stage.

        ``triggered_by``: the actions of the level that hands over (the hand-over carries them out).
        """
        self.ensure_one()
        if self.agency_id:
            raise UserError(
                self.env._("%(case)s is already with %(agency)s.", case=self.display_name, agency=self.agency_id.name)
            )
        if agency.company_id != self.company_id:
            raise UserError(self.env._("The agency must belong to the company of the case."))
        document = self._collection_statement()
        items = self.env["account.move.line"].browse([int(line.item_id) for line in document.overdue])
        if not items:
            raise UserError(self.env._("%(case)s has nothing overdue to hand over.", case=self.display_name))
        pending = self.action_ids.filtered(lambda a: a.state in ("scheduled", "to_do"))
        if triggered_by:
            triggered_by.write({"state": "done", "outcome": False, "cost": 0.0})
            triggered_by.activity_id.unlink()
        for action in pending - (triggered_by or self.env["collection.action"]):
            action._cancel("agency")
        stage = self._agency_stage()
        self.write(
            {
                "agency_id": agency.id,
                "handed_over_on": document.today,
                "handed_over_amount": document.amount_due,
                "agency_line_ids": [fields.Command.set(items.ids)],
                **({"stage_id": stage.id} if stage else {}),
            }
        )
        attachments = self._agency_pack(document)
        body = self.env._(
            "Case handed over to %(agency)s: %(amount)s to collect. Attached: the statement of account, the "
            "invoices and the history of our contacts.",
            agency=agency.display_name,
            amount=self.currency_id.format(self.handed_over_amount),
        )
        if note:
            body = f"{body}\n{note}"
        self.message_post(
            body=body,
            subject=self.env._("Collection hand-over: %(customer)s", customer=self.partner_id.display_name),
            partner_ids=agency.partner_id.ids,
            attachment_ids=attachments.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return attachments

    def _agency_pack(self, document):
        """The statement of account, the open invoices and the contact history (CSV), attached to the case."""
        self.ensure_one()
        Action = self.env["collection.action"]
        Attachment = self.env["ir.attachment"]
        report = self.env.ref("account_collections.action_report_collection_letter")
        content, kind = Action._render_report(report, self.ids, {self.id: document})
        extension = "pdf" if kind == "pdf" else "html"
        attachments = Attachment.create(
            {
                "name": f"statement-{self.id}-{document.today.isoformat()}.{extension}",
                "raw": content,
                "res_model": self._name,
                "res_id": self.id,
                "mimetype": "application/pdf" if kind == "pdf" else "text/html",
            }
        )
        moves = self.env["account.move"]
        for line in document.overdue + document.arranged + document.disputed + document.upcoming:
            if line.kind == "invoice":
                moves |= document.move(line)
        invoice_report = self.env.ref("account.account_invoices")
        for move in moves:
            content, kind = Action._render_report(invoice_report, move.ids)
            attachments |= Attachment.create(
                {
                    "name": f"{move.name.replace('/', '_')}.{'pdf' if kind == 'pdf' else 'html'}",
                    "raw": content,
                    "res_model": self._name,
                    "res_id": self.id,
                    "mimetype": "application/pdf" if kind == "pdf" else "text/html",
                }
            )
        attachments |= Attachment.create(
            {
                "name": f"contact-history-{self.id}.csv",
                "raw": self._contact_history_csv().encode("utf-8"),
                "res_model": self._name,
                "res_id": self.id,
                "mimetype": "text/csv",
            }
        )
        return attachments

    def _contact_history_csv(self):
        """One row per contact made or tried: date, channel, level, state, outcome, amount asked, recipient."""
        self.ensure_one()
        Action = self.env["collection.action"]
        channels = dict(Action._fields["channel"]._description_selection(self.env))
        states = dict(Action._fields["state"]._description_selection(self.env))
        outcomes = dict(Action._fields["outcome"]._description_selection(self.env))
        out = io.StringIO()
        writer = csv.writer(out)
        env = self.env
        writer.writerow(
            [
                env._("Date"),
                env._("Channel"),
                env._("Level"),
                env._("State"),
                env._("Outcome"),
                env._("Amount Asked"),
                env._("Recipient"),
            ]
        )
        for action in self.action_ids.filtered(lambda a: a.state in PACK_STATES).sorted(lambda a: (a.not_before, a.id)):
            writer.writerow(
                [
                    fields.Datetime.to_string(action.not_before),
                    channels.get(action.channel, action.channel),
                    action.level_id.name or action.level_key or "",
                    states.get(action.state, action.state),
                    outcomes.get(action.outcome, "") if action.outcome else "",
                    f"{action.amount_due:.{self.currency_id.decimal_places}f}",
                    action.sent_to or "",
                ]
            )
        return out.getvalue()

    def action_agency_take_back(self):
        """Take the case back from its agency: our dunning resumes at the next run."""
        for case in self:
            if not case.agency_id:
                continue
            agency = case.agency_id
            case.write({"agency_id": False, "agency_line_ids": [fields.Command.clear()]})
            case._message_log(
                body=self.env._("Case taken back from %(agency)s: our follow-up resumes.", agency=agency.display_name)
            )
        for company, cases in self.grouped("company_id").items():
            self.env["collection.run"]._run_company(company, partners=cases.partner_id, send=False)
        return True

    def action_agency_hand_over(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Hand Over to Agency"),
            "res_model": "collection.agency.hand.over",
            "view_mode": "form",
            "target": "new",
            "context": {"default_case_id": self.id},
        }

    def action_agency_recovery(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record Agency Recovery"),
            "res_model": "collection.agency.recover",
            "view_mode": "form",
            "target": "new",
            "context": {"default_case_id": self.id},
        }
