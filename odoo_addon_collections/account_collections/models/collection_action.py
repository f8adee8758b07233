from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CollectionAction(models.Model):
    """A collection action, recorded under its engine key before anything is sent (the outbox)."""

    _name = "collection.action"
    _description = "Collection Action"
    _order = "not_before desc, id desc"

    key = fields.Char(required=True, readonly=True, index=True)
    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one(related="case_id.partner_id", store=True)
    company_id = fields.Many2one(related="case_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(related="case_id.user_id", string="Collector")
    level_id = fields.Many2one("collection.level", readonly=True)
    level_key = fields.Char(readonly=True)
    strategy_key = fields.Char(readonly=True)
    variant = fields.Char(readonly=True)
    channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("call", "Call"), ("letter", "Letter")],
        required=True,
        readonly=True,
    )
    tone = fields.Char(readonly=True)
    move_line_ids = fields.Many2many("account.move.line", string="Items", readonly=True)
    amount_due = fields.Monetary(readonly=True)
    not_before = fields.Datetime(string="Not Before", readonly=True, index=True)
    planned_at = fields.Datetime(readonly=True, help="The instant of the run that decided it.")
    done_date = fields.Datetime(readonly=True)
    state = fields.Selection(
        [
            ("scheduled", "Scheduled"),
            ("to_do", "To do by the collector"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="scheduled",
        required=True,
        index=True,
    )
    outcome = fields.Selection(
        [
            ("sent", "Sent"),
            ("responded", "Responded"),
            ("promised", "Promised to pay"),
            ("paid", "Paid"),
            ("no_answer", "No answer"),
            ("bounced", "Bounced"),
            ("failed", "Failed"),
            ("disputed", "Disputed"),
        ]
    )
    cost = fields.Monetary(readonly=True)
    reason = fields.Char(readonly=True)
    call_script = fields.Text(readonly=True)
    error = fields.Text(readonly=True)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "An action key is recorded once per company."),
    ]

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def _execute(self):
        """Send an email or SMS through Odoo's machinery; calls, letters and WhatsApp become collector tasks."""
        self.ensure_one()
        case = self.case_id
        if self.channel == "email":
            template = self.level_id.mail_template_id or self.env.ref(
                "account_collections.mail_template_collection_reminder"
            )
            case.message_post_with_source(
                template,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
                attachment_ids=[Command.set(self._email_attachments().ids)],
            )
            self._mark_done()
        elif self.channel == "sms":
            template = self.level_id.sms_template_id or self.env.ref("account_collections.sms_template_collection")
            body = template._render_field("body", case.ids)[case.id]
            case._message_sms(body, partner_ids=case.partner_id.ids)
            self._mark_done()
        else:
            self._schedule_task()
        case._message_log(
            body=self.env._(
                "Collection action %(level)s by %(channel)s (cost %(cost)s): %(reason)s",
                level=self.level_id.display_name or self.level_key,
                channel=dict(self._fields["channel"]._description_selection(self.env))[self.channel],
                cost=self.cost,
                reason=self.reason,
            )
        )

    def _mark_done(self):
        self.write({"state": "done", "done_date": fields.Datetime.now(), "outcome": "sent"})

    def _schedule_task(self):
        case = self.case_id
        if self.channel == "call":
            activity_type = "mail.mail_activity_data_call"
            note = self.call_script or ""
        elif self.channel == "whatsapp":
            activity_type = "mail.mail_activity_data_todo"
            number = "".join(ch for ch in (case.partner_id.mobile or case.partner_id.phone or "") if ch.isdigit())
            note = f"https://wa.me/{number}" if number else ""
        else:
            activity_type = "mail.mail_activity_data_todo"
            note = self.env._("Print and post the reminder letter.")
            self._attach_letter()
        case.activity_schedule(
            activity_type,
            date_deadline=fields.Date.to_date(self.not_before),
            summary=self.reason,
            note=note,
            user_id=case.user_id.id or self.env.uid,
        )
        self.state = "to_do"

    def _email_attachments(self):
        """The statement of overdue items and the invoice PDFs, as the level asks."""
        attachments = self.env["ir.attachment"]
        if self.level_id.attach_statement:
            attachments |= self._attach_letter()
        if self.level_id.attach_invoices:
            invoice_report = self.env.ref("account.account_invoices")
            for move in self.move_line_ids.move_id:
                content, kind = self._render_report(invoice_report, move.ids)
                attachments |= self.env["ir.attachment"].create(
                    {
                        "name": f"{move.name.replace('/', '_')}.{'pdf' if kind == 'pdf' else 'html'}",
                        "raw": content,
                        "res_model": "collection.case",
                        "res_id": self.case_id.id,
                    }
                )
        return attachments

    def _attach_letter(self):
        """Render the collection letter of the case and attach it, queued for printing.

        Within one sending batch a case's statement is rendered once: the final level's letter and
        email of the same customer share it (``collection_letters`` in the context caches it).
        """
        cache = self.env.context.get("collection_letters")
        if cache is not None and self.case_id.id in cache:
            return self.env["ir.attachment"].browse(cache[self.case_id.id])
        attachment = self._render_letter()
        if cache is not None:
            cache[self.case_id.id] = attachment.id
        return attachment

    @api.model
    def _render_report(self, report, ids):
        """Render a report as PDF, or as HTML when this server has no wkhtmltopdf (still printable)."""
        try:
            return report._render(report.report_name, ids)
        except UserError:
            return report._render_qweb_html(report.report_name, ids)

    def _render_letter(self):
        report = self.env.ref("account_collections.action_report_collection_letter")
        content, kind = self._render_report(report, self.case_id.ids)
        extension = "pdf" if kind == "pdf" else "html"
        return self.env["ir.attachment"].create(
            {
                "name": f"statement-{self.case_id.id}-{fields.Date.context_today(self)}.{extension}",
                "raw": content,
                "res_model": "collection.case",
                "res_id": self.case_id.id,
                "mimetype": "application/pdf" if kind == "pdf" else "text/html",
            }
        )

    def action_send_now(self):
        """Send a scheduled action at once, whatever its earliest time."""
        for action in self.filtered(lambda a: a.state == "scheduled"):
            action._execute()
        return True

    def action_done(self):
        self.write({"state": "done", "done_date": fields.Datetime.now()})
        return True
