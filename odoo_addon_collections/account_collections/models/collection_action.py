from urllib.parse import urlencode

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import formataddr

from . import collection_phrases
from .collection_level import CHANNEL_SELECTION
from .collection_statement import PLAN_OVERDUE, PLAN_PRE_DUE, PRE_DUE, STATEMENT, THANK_YOU

# The template of each purpose and tone, when the level names none.
MAIL_TEMPLATES = {
    PRE_DUE: "account_collections.mail_template_collection_pre_due",
    THANK_YOU: "account_collections.mail_template_collection_thank_you",
    PLAN_PRE_DUE: "account_collections.mail_template_collection_plan_pre_due",
    PLAN_OVERDUE: "account_collections.mail_template_collection_plan_overdue",
    STATEMENT: "account_collections.mail_template_collection_statement",
    "friendly": "account_collections.mail_template_collection_friendly",
    "neutral": "account_collections.mail_template_collection_reminder",
    "firm": "account_collections.mail_template_collection_firm",
    "formal": "account_collections.mail_template_collection_formal",
    "final": "account_collections.mail_template_collection_final",
}
SMS_TEMPLATES = {
    PRE_DUE: "account_collections.sms_template_collection_pre_due",
    "final": "account_collections.sms_template_collection_final",
    PLAN_PRE_DUE: "account_collections.sms_template_collection_plan",
    PLAN_OVERDUE: "account_collections.sms_template_collection_plan",
}
# The order of a collector's round of visits (the list of My Visits Today uses the same)
VISIT_ORDER = "visit_zip, visit_city, id"
# The activity type of each collector task (the others are to-dos).
ACTIVITY_TYPES = {
    "call": "mail.mail_activity_data_call",
    "visit": "account_collections.mail_activity_data_collection_visit",
}
CANCEL_REASONS = [
    ("paid", "Paid"),
    ("disputed", "Disputed"),
    ("arranged", "Promise or payment plan"),
    ("credited", "Covered by credits"),
    ("hold", "Customer on hold"),
    ("below_minimum", "Below the minimum amount"),
    ("superseded", "Superseded"),
    ("agency", "Handed over to a collection agency"),
]


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
        CHANNEL_SELECTION,
        required=True,
        readonly=True,
    )
    tone = fields.Char(readonly=True)
    move_line_ids = fields.Many2many("account.move.line", string="Items", readonly=True)
    amount_due = fields.Monetary(readonly=True)
    not_before = fields.Datetime(readonly=True, index=True)
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
    reason = fields.Char(string="Reason (English)", readonly=True)
    reason_parts = fields.Json(readonly=True, help="The engine's reason as codes with parameters.")
    reason_display = fields.Char(
        string="Reason",
        compute="_compute_reason_display",
        help="Why the action is due: what is overdue, the level reached and why this channel.",
    )
    call_script = fields.Text(readonly=True)
    error = fields.Text(readonly=True)
    cancel_reason = fields.Selection(CANCEL_REASONS, readonly=True)
    sent_to = fields.Char(readonly=True, help="The recipients of the message, as sent.")
    activity_id = fields.Many2one("mail.activity", string="Task", readonly=True, ondelete="set null")
    plan_installment_id = fields.Many2one(
        "collection.plan.installment",
        string="Plan Instalment",
        readonly=True,
        ondelete="set null",  # what was sent stays in the case's history
        help="The payment plan instalment this reminder is about.",
    )
    visit_zip = fields.Char(
        string="Postal Code", readonly=True, help="Of the address a visit goes to; the day's visits are ordered by it."
    )
    visit_city = fields.Char(string="City", readonly=True)

    _sql_constraints = [
        ("key_company_uniq", "unique(key, company_id)", "An action key is recorded once per company."),
    ]

    @api.ondelete(at_uninstall=False)
    def _unlink_except_carried_out(self):
        """What was sent, called or tried is the case's history: it stays (cancel what has not happened yet)."""
        carried_out = self.filtered(lambda action: action.state in ("done", "failed"))
        if carried_out:
            raise UserError(
                self.env._(
                    "Actions that were carried out are the case's history and cannot be deleted: %(actions)s.",
                    actions=", ".join(carried_out[:5].mapped("display_name")),
                )
            )

    # ------------------------------------------------------------
    # SENDING
    # ------------------------------------------------------------

    def _execute(self, document=None, minimums=None, case_values=None):
        """Send an email or SMS through Odoo's machinery; calls, letters and WhatsApp become collector tasks.

        What is sent is rendered from the case's statement as it stands now (``document``): an
        action whose items were paid, disputed or arranged since it was planned is cancelled instead.
        """
        self.ensure_one()
        case = self.case_id
        document = document or self.env["collection.statement"]._for_actions(self)[self.id]
        reason = self._send_time_reason(document, minimums)
        if reason:
            self._cancel(reason)
            return
        if self.channel == "email":
            self._send_email(document)
        elif self.channel == "sms":
            self._send_sms(document)
        else:
            self._schedule_task(document)
        if document.purpose not in (PRE_DUE, PLAN_PRE_DUE, PLAN_OVERDUE, STATEMENT):
            self._set({"amount_due": document.amount_due})  # what was asked, as sent
        if case_values is None:
            case.write(document.case_values())  # the case shows the figures the customer just read
        else:
            case_values[case.id] = document.case_values()  # written for the whole batch at once

    @api.depends_context("lang")
    @api.depends("reason", "reason_parts")
    def _compute_reason_display(self):
        for action in self:
            action.reason_display = (
                collection_phrases.render_parts(action.env, action.reason_parts)
                if action.reason_parts
                else action.reason
            )

    def _send_time_reason(self, document, minimums=None):
        """Why this action must not go out now (items no longer due, hold, minimum), or False."""
        if self.level_key in (THANK_YOU, STATEMENT):
            return False
        partner = self.case_id.partner_id.commercial_partner_id
        if partner.collection_do_not_dun or (
            partner.collection_paused_until and partner.collection_paused_until >= document.today
        ):
            return "hold"
        reason = self._obsolete_reason(document.company_statement, None)
        if reason:
            return reason
        minimum = (minimums if minimums is not None else self._minimums()).get(self.company_id.id)
        if minimum and document.purpose not in (PRE_DUE, PLAN_PRE_DUE, PLAN_OVERDUE):
            floor = minimum.letter_amount if self.channel == "letter" else minimum.reminder_amount
            if document.amount_due < floor:
                return "below_minimum"
        return False

    def _obsolete_reason(self, statement, hold):
        """Why a pending action is no longer worth sending, from its customer's statement, or False."""
        self.ensure_one()
        if self.level_key == STATEMENT:  # a statement is sent as the account stands, whatever it holds
            return False
        if hold in ("do_not_dun", "paused"):
            return "hold"
        if self.level_key in (PLAN_PRE_DUE, PLAN_OVERDUE):  # its plan deleted since: nothing to remind
            return self.plan_installment_id._reminder_obsolete_reason() if self.plan_installment_id else "superseded"
        if hold == "credit_covers_overdue":
            return "credited"
        lines = {line.item_id: line for line in statement.lines}
        mine = [lines[str(line_id)] for line_id in self.move_line_ids.ids if str(line_id) in lines]
        pre_due = self.level_id.delay_days < 0 if self.level_id else False
        wanted = ("upcoming",) if pre_due else ("overdue",)
        if any(line.section in wanted for line in mine):
            return "below_minimum" if hold == "below_minimum" else False
        sections = {line.section for line in mine}
        if "disputed" in sections:
            return "disputed"
        if "arranged" in sections:
            return "arranged"
        if pre_due and "overdue" in sections:
            return "superseded"
        return "paid"

    @api.model
    def _minimums(self):
        """The reminder and letter minimums of each company, in its own currency."""
        records = self.env["collection.minimum"].sudo().search([])
        return {m.company_id.id: m for m in records if m.currency_id == m.company_id.currency_id}

    def _cancel(self, reason):
        """Cancel a pending action with its reason, close its task and say so on the case."""
        self.ensure_one()
        label = dict(self._fields["cancel_reason"]._description_selection(self.env))[reason]
        self.write({"state": "cancelled", "cancel_reason": reason, "outcome": False})
        activity = self.activity_id
        if activity:
            activity.unlink()
        self.case_id._message_log(
            body=self.env._(
                "Collection action %(level)s by %(channel)s cancelled: %(reason)s.",
                level=self.level_id.display_name or self.level_key,
                channel=dict(self._fields["channel"]._description_selection(self.env))[self.channel],
                reason=label,
            )
        )

    def _mail_template(self, purpose):
        """The level's own template (a pre-due level's too), else the built-in one of the purpose and tone."""
        if purpose != THANK_YOU and self.level_id.mail_template_id:
            return self.level_id.mail_template_id
        return self._builtin_mail_template(purpose, self.tone or self.level_id.tone)

    def _sms_template(self, purpose):
        if purpose != THANK_YOU and self.level_id.sms_template_id:
            return self.level_id.sms_template_id
        return self._builtin_sms_template(purpose, self.tone or self.level_id.tone)

    @api.model
    def _builtin_mail_template(self, purpose, tone):
        key = purpose if purpose in (PRE_DUE, THANK_YOU, PLAN_PRE_DUE, PLAN_OVERDUE, STATEMENT) else (tone or "neutral")
        return self._template(MAIL_TEMPLATES.get(key, MAIL_TEMPLATES["neutral"]), "mail.template")

    @api.model
    def _builtin_sms_template(self, purpose, tone):
        key = purpose if purpose in (PRE_DUE, PLAN_PRE_DUE, PLAN_OVERDUE) else tone
        return self._template(SMS_TEMPLATES.get(key, "account_collections.sms_template_collection"), "sms.template")

    def _template(self, xmlid, model):
        """A template of the addon by its XML id, without a query (the id is cached by Odoo)."""
        return self.env[model].browse(self.env["ir.model.data"]._xmlid_to_res_id(xmlid, raise_if_not_found=True))

    def _email_from(self):
        """The collector's address, else the company's collections address, else the company's.

        Without any of them, the company's notification address (its alias domain's default
        sender), as Odoo sends its own notifications; else a clear error on the action.
        """
        collector = self.case_id.user_id
        company = self.company_id
        if collector.email:
            return collector.email_formatted
        sender = company.collection_email_from or company.email_formatted
        if not sender and company.alias_domain_id.default_from_email:
            sender = formataddr((company.name, company.alias_domain_id.default_from_email))
        if not sender:
            raise UserError(
                self.env._(
                    "No sender for the collection emails of %(company)s: give the case a collector with an email "
                    "address, or set a Collections Email in Settings > Collections, or the company's email.",
                    company=company.name,
                )
            )
        return sender

    def _send_email(self, document):
        case = self.case_id
        template = self._mail_template(document.purpose).sudo()
        values = {"statement": document, "recipient": document.recipient, "action": self}
        subject = template._render_field("subject", case.ids, set_lang=document.lang, add_context=values)[case.id]
        body = template._render_field("body_html", case.ids, set_lang=document.lang, add_context=values)[case.id]
        recipients = document.recipient | document.cc
        author = case.user_id.partner_id or case.company_id.partner_id
        email_from = self._email_from()
        case.with_context(collection_notify_only=recipients.ids).message_post(
            **self._thread_values(email_from),
            body=Markup(body),
            subject=subject,
            partner_ids=recipients.ids,
            author_id=author.id,
            email_from=email_from,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachment_ids=self._email_attachments(document).ids,
            email_layout_xmlid="mail.mail_notification_light",
        )
        self._set({"sent_to": ", ".join(recipients.mapped("email_formatted"))})
        self._mark_done()

    def _thread_values(self, email_from):
        """Reply-to, alias domain and company of the case's messages, computed once per sending batch.

        ``message_post`` computes them for each message otherwise (three queries an email); replies
        still reach the case through its alias or the company's catchall.
        """
        cache = self.env.context.get("collection_thread_cache")
        if cache is None:
            return {}
        cases = self.env["collection.case"].browse(cache["case_ids"])
        if "domains" not in cache:
            cache["domains"] = cases.sudo()._mail_get_alias_domains(default_company=self.env.company)
            cache["companies"] = cases._mail_get_companies(default=self.env.company)
        if email_from not in cache:
            cache[email_from] = cases._notify_get_reply_to(default=email_from)
        case_id = self.case_id.id
        return {
            "reply_to": cache[email_from][case_id],
            "record_alias_domain_id": cache["domains"][case_id].id,
            "record_company_id": cache["companies"][case_id].id,
        }

    def _send_sms(self, document):
        case = self.case_id
        template = self._sms_template(document.purpose).sudo()
        values = {"statement": document, "recipient": document.recipient, "action": self}
        body = template._render_field("body", case.ids, set_lang=document.lang, add_context=values)[case.id]
        body = body.replace("\xa0", " ")  # amounts use non-breaking spaces, which GSM-7 lacks (one SMS would cost two)
        if document.purpose != THANK_YOU and document.portal_link not in body:
            body = f"{body} {document.portal_link}"  # every reminder carries the customer's link, custom ones too
        partner, number = case.partner_id._collection_sms_recipient()
        case._message_sms(body, partner_ids=partner.ids, sms_pid_to_number={partner.id: number}, put_in_queue=True)
        self._set({"sent_to": f"{partner.name} {number}"})
        self._mark_done()

    def _mark_done(self):
        self._set({"state": "done", "done_date": fields.Datetime.now(), "outcome": "sent"})

    def _set(self, values):
        """Write the action now, or with the whole sending batch when it collects the values."""
        batch = self.env.context.get("collection_action_values")
        if batch is None:
            self.write(values)
        else:
            batch.setdefault(self.id, {}).update(values)

    def _schedule_task(self, document):
        """A call, letter, WhatsApp message or visit is the collector's task, with what to say and ask for."""
        values = {"state": "to_do", "sent_to": document.addressee.display_name}
        if self.channel == "visit":  # the day's visits are ordered by where they go
            place = self.case_id.partner_id._collection_postal_place()
            values.update(visit_zip=place.zip or False, visit_city=place.city or False)
        self._set(values)
        tasks = self.env.context.get("collection_tasks")
        if tasks is not None:
            tasks.append((self.id, document))  # their activities are created for the whole batch at once
        else:
            self._ensure_activity({self.id: document})

    def _ensure_activity(self, documents=None):
        """Give each pending task without one an activity of its case's collector (none while unassigned).

        One ``create`` for all the tasks; the collectors see them in their activities (no email each).
        """
        tasks = self.filtered(lambda a: a.state == "to_do" and not a.activity_id and a.case_id.user_id)
        if not tasks:
            return
        documents = documents or {}
        missing = tasks.filtered(lambda a: a.id not in documents)
        if missing:
            documents = {**documents, **self.env["collection.statement"]._for_actions(missing)}
        model_id = self.env["ir.model"]._get_id("collection.case")
        types = {
            channel: self.env["ir.model.data"]._xmlid_to_res_id(
                ACTIVITY_TYPES.get(channel, "mail.mail_activity_data_todo")
            )
            for channel in set(tasks.mapped("channel"))
        }
        activities = (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(
                [
                    {
                        "res_model_id": model_id,
                        "res_id": action.case_id.id,
                        "activity_type_id": types[action.channel],
                        "date_deadline": fields.Date.to_date(action.not_before),
                        "summary": action._task_summary(),
                        "note": action._task_note(documents[action.id]),
                        "user_id": action.case_id.user_id.id,
                    }
                    for action in tasks
                ]
            )
        )
        for action, activity in zip(tasks, activities, strict=False):
            action.activity_id = activity

    def _task_summary(self):
        action = self.with_context(lang=self.case_id.user_id.lang or self.env.lang)  # the collector reads it
        channel = dict(action._fields["channel"]._description_selection(action.env))[action.channel]
        return action.env._(
            "%(channel)s: %(level)s", channel=channel, level=action.level_id.display_name or action.level_key
        )

    def _task_note(self, document):
        """What the collector says and asks for: the statement's summary and items, the script or link.

        Written in the collector's language (the customer's statement, read by the collector).
        """
        original, document = document, document.with_lang(self.case_id.user_id.lang)
        env = document.env
        paragraphs = [document.summary()]
        if self.channel == "call":
            partner, number = self.case_id.partner_id._collection_sms_recipient()
            paragraphs.append(env._("Call %(name)s on %(number)s.", name=partner.name, number=number or "-"))
            if self.call_script:
                paragraphs.append(self.call_script)
        elif self.channel == "visit":
            address, link = self.case_id.partner_id._collection_visit_address()
            name = document.addressee.display_name
            paragraphs.append(env._("Visit %(name)s at %(address)s.", name=name, address=address or "-"))
            if link:
                paragraphs.append(Markup('<a href="%s" target="_blank">%s</a>') % (link, env._("Open the map")))
            if self.call_script:
                paragraphs.append(self.call_script)
        elif self.channel == "whatsapp":
            number = "".join(ch for ch in self.case_id.partner_id._collection_sms_recipient()[1] if ch.isdigit())
            message = original.link_message()  # in the customer's language, as they will read it
            if number:
                paragraphs.append(f"https://wa.me/{number}?{urlencode({'text': message})}")
            paragraphs.append(env._("Send the customer their link: %(message)s", message=message))
        else:
            paragraphs.append(
                env._(
                    "Print the letter (Actions > Letters to Print > Print Letters, or Print > Collection Letter on the "
                    "case) and post it to %(address)s.",
                    address=document.addressee.display_name,
                )
            )
        items = Markup("<br/>").join(document.lines_text())
        return Markup("").join(Markup("<p>%s</p>") % p for p in paragraphs) + (
            Markup("<p>%s</p>") % items if items else ""
        )

    # ------------------------------------------------------------
    # DOCUMENTS
    # ------------------------------------------------------------

    def _email_attachments(self, document):
        """The statement and the PDFs of the reminded invoices that are still asked for, as the level asks."""
        attachments = self.env["ir.attachment"]
        if document.purpose == THANK_YOU:
            return attachments
        if document.purpose == STATEMENT:
            return self._render_letter(document, "account_collections.action_report_collection_statement")
        if self.level_id.attach_statement:
            attachments |= self._attach_letter(document)
        if self.level_id.attach_invoices:
            invoice_report = self.env.ref("account.account_invoices")
            moves = self.env["account.move"]
            for line in document.overdue + document.upcoming:
                if line.reminded and line.kind == "invoice":
                    moves |= document.move(line)
            for move in moves:
                if move.invoice_pdf_report_id:  # the PDF the customer already received
                    attachments |= move.invoice_pdf_report_id
                    continue
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

    def _attach_letter(self, document):
        """Render the case's statement as a letter and attach it, queued for printing.

        Within one sending batch a case's statement is rendered once: the final level's letter and
        email of the same customer share it (``collection_letters`` in the context caches it).
        """
        cache = self.env.context.get("collection_letters")
        if cache is not None and self.case_id.id in cache:
            return self.env["ir.attachment"].browse(cache[self.case_id.id])
        attachment = self._render_letter(document)
        if cache is not None:
            cache[self.case_id.id] = attachment.id
        return attachment

    @api.model
    def _render_report(self, report, ids, statements=None):
        """Render a report as PDF, or as HTML when this server has no wkhtmltopdf (still printable)."""
        report = report.with_context(collection_statements=statements or {})
        try:
            return report._render(report.id, ids)  # by id: by name, each step would search the report again
        except UserError:
            return report._render_qweb_html(report.id, ids)

    def _render_letter(self, document, report_xmlid="account_collections.action_report_collection_letter"):
        report = self.env.ref(report_xmlid)
        case = self.case_id
        content, kind = self._render_report(report, case.ids, {case.id: document})
        extension = "pdf" if kind == "pdf" else "html"
        return self.env["ir.attachment"].create(
            {
                "name": f"statement-{case.id}-{document.today.isoformat()}.{extension}",
                "raw": content,
                "res_model": "collection.case",
                "res_id": case.id,
                "mimetype": "application/pdf" if kind == "pdf" else "text/html",
            }
        )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_print_letters(self):
        """Print the letters of the selected letter tasks in one document, and mark them done.

        Each letter is the case's statement of account as it stands at printing; the tasks'
        activities are closed.
        """
        letters = self.filtered(lambda a: a.channel == "letter" and a.state in ("to_do", "done"))
        if not letters:
            raise UserError(self.env._("Select letters to print (actions on the Letter channel)."))
        pending = letters.filtered(lambda a: a.state == "to_do")
        pending.activity_id.action_feedback(feedback=self.env._("Letter printed."))
        pending.write({"state": "done", "done_date": fields.Datetime.now(), "outcome": "sent"})
        report = self.env.ref("account_collections.action_report_collection_letter")
        return report.report_action(letters.case_id)

    def action_send_now(self):
        """Send a scheduled action at once, whatever its earliest time."""
        for action in self.filtered(lambda a: a.state == "scheduled"):
            action._execute()
        return True

    def action_log_call(self):
        """Log the call or visit of this task: its outcome, a promise, a pause (the task is then done)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("account_collections.action_collection_log_call")
        action["context"] = {
            "default_case_id": self.case_id.id,
            "default_channel": self.channel if self.channel == "visit" else "call",
        }
        if self.channel == "visit":
            action["name"] = self.env._("Log a Visit")
        return action

    @api.model
    def action_my_visits_today(self):
        """The collector's round: the visits to make today (and those left from earlier days), by postal code."""
        action = self.env["ir.actions.act_window"]._for_xml_id("account_collections.action_collection_visits")
        action["domain"] = self._visits_domain(self.env.user, fields.Date.context_today(self))
        return action

    @api.model
    def _visits_domain(self, user, day):
        """The visits of a collector to make by the end of ``day`` (in the collector's time zone)."""
        start = fields.Datetime.to_datetime(fields.Date.add(day, days=1))
        tz = pytz.timezone(user.tz or "UTC")
        end = tz.localize(start).astimezone(pytz.utc).replace(tzinfo=None)
        return [("channel", "=", "visit"), ("state", "=", "to_do"), ("user_id", "=", user.id), ("not_before", "<", end)]

    @api.model
    def _visits_of_day(self, user, day):
        """The visits of ``_visits_domain`` in the order of the round: postal code, then city."""
        return self.search(self._visits_domain(user, day), order=VISIT_ORDER)

    def action_done(self):
        self.write({"state": "done", "done_date": fields.Datetime.now()})
        return True
