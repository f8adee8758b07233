from urllib.parse import urlencode

from collections_engine.types import CHANNELS

from odoo import api, fields, models

from .collection_consent_log import CONSENT_FIELDS
from .collection_level import CHANNEL_SELECTION


class ResPartner(models.Model):
    _inherit = "res.partner"

    collection_case_ids = fields.One2many("collection.case", "partner_id", string="Collection Cases")
    collection_case_id = fields.Many2one("collection.case", compute="_compute_collection_case_id")
    collection_risk_score = fields.Float(string="Risk Score", compute="_compute_collection_case_id")
    collection_risk_category_id = fields.Many2one(
        "collection.risk.category", string="Risk Category", compute="_compute_collection_case_id"
    )
    collection_risk_explanation = fields.Text(string="Risk Explanation", compute="_compute_collection_case_id")
    collection_preferred_channel = fields.Selection(
        CHANNEL_SELECTION,
        string="Preferred Channel",
    )
    collection_contact_id = fields.Many2one(
        "res.partner",
        string="Collections Contact",
        domain="[('id', 'child_of', commercial_partner_id)]",
        help="Who receives reminders, letters and SMS. Empty: the invoice address of the company (its contact of "
        "type Invoice), or the company itself.",
    )
    collection_cc_ids = fields.Many2many(
        "res.partner",
        "res_partner_collection_cc_rel",
        "partner_id",
        "cc_id",
        string="Copy Reminders To",
        domain="[('id', 'child_of', commercial_partner_id)]",
        help="Other contacts who receive a copy of every collection email.",
    )
    collection_recipients = fields.Text(
        string="Reminders Go To",
        compute="_compute_collection_recipients",
        help="Who receives each kind of collection message, computed from the contacts.",
    )
    collection_opt_out_email = fields.Boolean(string="No Collection Emails")
    collection_opt_out_sms = fields.Boolean(string="No Collection SMS")
    collection_opt_out_whatsapp = fields.Boolean(string="No Collection WhatsApp")
    collection_opt_out_call = fields.Boolean(string="No Collection Calls")
    collection_opt_out_letter = fields.Boolean(string="No Collection Letters")
    collection_opt_out_visit = fields.Boolean(string="No Collection Visits")
    collection_audience = fields.Selection(
        [("b2c", "Consumer"), ("b2b", "Business")],
        string="Collections Audience",
        help="Which contact preset of the customer's country applies. Empty: a company is a business, a person "
        "follows the company's setting (Settings > Collections).",
    )
    collection_do_not_dun = fields.Boolean(string="Do Not Dun")
    collection_paused_until = fields.Date(string="Collections Paused Until")
    collection_hours = fields.Char(string="Own Contact Hours", help="Overrides the company's, e.g. 10:00-12:00")
    collection_weekdays = fields.Char(
        string="Own Contact Weekdays (ISO Numbers)", help="Overrides the company's, e.g. 2,4"
    )
    collection_statement_monthly = fields.Boolean(
        string="Monthly Statement",
        help="Email this customer their statement of account (PDF attached) at the start of every month.",
    )
    collection_consent_log_ids = fields.One2many(
        "collection.consent.log", "partner_id", string="Contact Preference Changes", readonly=True
    )
    collection_weekday_ids = fields.Many2many(
        "collection.weekday",
        string="Own Contact Days",
        compute="_compute_collection_weekday_ids",
        inverse="_inverse_collection_weekday_ids",
        help="The days this customer may be contacted, instead of the company's (empty: the company's).",
    )

    @api.depends_context("company", "lang")
    @api.depends(
        "commercial_partner_id.collection_case_ids.risk_score",
        "commercial_partner_id.collection_case_ids.risk_category_id",
        "commercial_partner_id.collection_case_ids.risk_explanation",
        "commercial_partner_id.collection_case_ids.risk_factors",
    )
    def _compute_collection_case_id(self):
        for partner in self:
            case = partner.commercial_partner_id.collection_case_ids.filtered(
                lambda case: case.company_id == self.env.company
            )[:1]
            partner.collection_case_id = case
            partner.collection_risk_score = case.risk_score
            partner.collection_risk_category_id = case.risk_category_id
            partner.collection_risk_explanation = case.risk_explanation_display

    @api.depends(
        "commercial_partner_id.collection_contact_id",
        "commercial_partner_id.collection_cc_ids",
        "commercial_partner_id.child_ids.type",
        "commercial_partner_id.child_ids.email",
        "commercial_partner_id.child_ids.mobile",
        "email",
        "mobile",
        "phone",
    )
    def _compute_collection_recipients(self):
        for partner in self:
            to, cc = partner._collection_recipients()
            number = partner._collection_sms_recipient()[1]
            addressee = partner._collection_addressee()
            lines = [
                self.env._("Email: %(to)s", to=to.email_formatted or self.env._("no email address")),
                self.env._("SMS and WhatsApp: %(number)s", number=number or self.env._("no mobile number")),
                self.env._(
                    "Letters: %(address)s",
                    address=", ".join(
                        part for part in (addressee.name, addressee.street, addressee.zip, addressee.city) if part
                    ),
                ),
            ]
            if cc:
                lines.insert(1, self.env._("Copy to: %(cc)s", cc=", ".join(cc.mapped("email_formatted"))))
            partner.collection_recipients = "\n".join(lines)

    @api.depends("collection_weekdays")
    def _compute_collection_weekday_ids(self):
        for partner in self:
            partner.collection_weekday_ids = self.env["collection.weekday"]._from_text(partner.collection_weekdays)

    def _inverse_collection_weekday_ids(self):
        for partner in self:
            partner.collection_weekdays = partner.collection_weekday_ids._as_text()

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        """Log every change of how a customer may be contacted (opt-outs, preferred channel, hours, days)."""
        if not CONSENT_FIELDS.keys() & vals.keys():
            return super().write(vals)
        Log = self.env["collection.consent.log"]
        before = Log._snapshot(self)
        result = super().write(vals)
        Log._log_changes(self, before)
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_collection_send_statement(self):
        """Email the statement of account of each selected customer (their case in this company, made if
        missing)."""
        company = self.env.company
        commercial = self.commercial_partner_id
        Case = self.env["collection.case"]
        cases = Case.search([("partner_id", "in", commercial.ids), ("company_id", "=", company.id)])
        missing = commercial - cases.partner_id
        if missing:
            cases |= Case.with_context(mail_create_nolog=True).create(
                [{"partner_id": partner.id, "company_id": company.id} for partner in missing]
            )
            cases._assign_collectors()  # as the daily run does: the collector signs the statement
        return cases.action_send_statement()

    # ------------------------------------------------------------
    # RECIPIENTS
    # ------------------------------------------------------------

    def _collection_addressee(self):
        """The contact collection messages are addressed to (letters go to its address).

        The collections contact chosen on the company, else its invoice address (``address_get``),
        else the company itself.
        """
        self.ensure_one()
        commercial = self.commercial_partner_id
        return commercial.collection_contact_id or self.browse(commercial.address_get(["invoice"])["invoice"])

    def _collection_recipients(self):
        """Who receives collection emails: (the addressee, the contacts in copy).

        When the addressee has no email address, the company's own address is used.
        """
        self.ensure_one()
        commercial = self.commercial_partner_id
        to = self._collection_addressee()
        if not to.email and commercial.email:
            to = commercial
        cc = commercial.collection_cc_ids.filtered("email") - to
        return to, cc

    def _collection_reach(self):
        """``{partner id: (email, mobile)}``: where the collection messages of each customer can go.

        The same choice as ``_collection_recipients`` and ``_collection_sms_recipient``, for a batch
        of customers with a few queries (their addressees are read together).
        """
        addressees = {partner.id: partner._collection_addressee().id for partner in self}
        contacts = self.browse(sorted(set(addressees.values()) | set(self.commercial_partner_id.ids)))
        data = {row["id"]: row for row in contacts.read(["email", "mobile", "phone"])}
        reach = {}
        for partner in self:
            to, commercial = data[addressees[partner.id]], data[partner.commercial_partner_id.id]
            email = to["email"] or commercial["email"]
            number = to["mobile"] or to["phone"] or commercial["mobile"] or commercial["phone"]
            reach[partner.id] = (email or False, number or "")
        return reach

    def _collection_postal_place(self):
        """The contact whose postal address letters and visits use: the addressee's, else the company's (an
        invoice contact often has no address of its own); empty when neither has one (street, and city or zip)."""
        self.ensure_one()
        for place in (self._collection_addressee(), self.commercial_partner_id):
            if place.street and (place.city or place.zip):
                return place
        return self.browse()

    def _collection_postal(self):
        """``{partner id: bool}``: whether each customer has a postal address, where letters and visits go."""
        return {partner.id: bool(partner._collection_postal_place()) for partner in self}

    def _collection_visit_address(self):
        """(one-line address, map link) of the place where the collector visits the customer."""
        self.ensure_one()
        to = self._collection_postal_place()
        parts = [to.street, to.street2, " ".join(filter(None, [to.zip, to.city])), to.state_id.name, to.country_id.name]
        address = ", ".join(part for part in parts if part)
        if not address:
            return "", ""
        return address, "https://www.openstreetmap.org/search?" + urlencode({"query": address})

    def _collection_mobile(self):
        """The number SMS and WhatsApp reminders go to (mobile first)."""
        self.ensure_one()
        return self.mobile or self.phone or ""

    def _collection_sms_recipient(self):
        """(partner, number) of the SMS addressee: the addressee's mobile, else the company's."""
        self.ensure_one()
        to = self._collection_addressee()
        if to._collection_mobile():
            return to, to._collection_mobile()
        commercial = self.commercial_partner_id
        return commercial, commercial._collection_mobile()

    def _collection_opted_out(self):
        """Return the channels the customer does not want collection messages on."""
        self.ensure_one()
        return {c for c in CHANNELS if self[f"collection_opt_out_{c}"]}
