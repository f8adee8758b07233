from datetime import timedelta
from urllib.parse import urlencode

from odoo import fields, http
from odoo.exceptions import ValidationError
from odoo.fields import Command
from odoo.http import request
from odoo.tools import float_compare, float_repr

from odoo.addons.account_payment.controllers.portal import PortalAccount
from odoo.addons.payment.controllers.portal import PaymentPortal

from ..models.collection_statement import PaymentSelectionError, parse_selection_key


class CollectionPortal(PortalAccount):
    """The customer's side of a collection case: what is due, pay it, promise a date, dispute an invoice.

    ``/my/collections`` lists the logged-in customer's cases; ``/my/collections/<case>`` shows one
    case to its customer, logged in or holding the signed link of a reminder (``access_token``),
    and so do its pay page and transaction route. Any other case id is a 404.
    """

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "collection_case_count" in counters:
            values["collection_case_count"] = len(self._collection_cases().filtered("open_amount"))
        return values

    def _collection_cases(self):
        """The cases of the logged-in customer (any contact of the company), read as superuser."""
        partner = request.env.user.partner_id.commercial_partner_id
        return request.env["collection.case"].sudo().search([("partner_id", "=", partner.id)])

    def _promise_horizon(self, case):
        """The furthest promised date the policy accepts (``promises.max_days_ahead``)."""
        return case.env["collection.run"]._policy(case.company_id).promises.max_days_ahead

    def _collection_is_customer(self, case):
        """Whether the logged-in user is a contact of the case's customer."""
        user = request.env.user
        return not user._is_public() and user.partner_id.commercial_partner_id == case.partner_id.commercial_partner_id

    def _collection_access(self, case_id=None, access_token=None):
        """``(case, partner, None)`` when the visitor may act for the case, else ``(None, None, response)``.

        The one check of every customer page and form: a signed link opens its own case only, another
        case id, a tampered token or a token of another case is a 404 (no page says whether the case
        exists); an authentic but expired link a page that says so (403). Without a token: the logged-in
        customer's own case, a login for anonymous visitors. ``partner`` is the case's customer (its
        commercial partner); without a case (``case_id`` None) the logged-in customer and no case.
        """
        case = request.env["collection.case"].sudo().browse(case_id).exists() if case_id else None
        if access_token and case_id:
            state = case._collection_link_state(access_token) if case else "invalid"
            if state == "valid":
                return case, case.partner_id.commercial_partner_id, None
            # the page explains; the status tells machines (404: nothing says whether the case exists)
            status = 404 if state == "invalid" else 403
            values = {**self._prepare_portal_layout_values(), "link_state": state}
            refused = request.render("account_collections.portal_collection_link_refused", values, status=status)
            return None, None, refused
        if request.env.user._is_public():
            login = request.redirect("/web/login?" + urlencode({"redirect": request.httprequest.full_path}))
            return None, None, login
        if case_id is None:
            return None, request.env.user.partner_id.commercial_partner_id.sudo(), None
        if not case or not self._collection_is_customer(case):
            raise request.not_found()
        return case, case.partner_id.commercial_partner_id, None

    def _collection_case_access(self, case_id, access_token=None):
        """``(case, None)`` or ``(None, response)``: :meth:`_collection_access` for a case's page."""
        case, _partner, refused = self._collection_access(case_id, access_token)
        return case, refused

    def _collection_url(self, case, suffix="", access_token=None, **params):
        """A page of the case for this visitor (``suffix``: ``/plan``...): with the signed link when they came
        with one."""
        query = {"access_token": access_token} if access_token else {}
        query.update({key: value for key, value in params.items() if value})
        return f"/my/collections/{case.id}{suffix}" + (f"?{urlencode(query)}" if query else "")

    def _collection_page_url(self, case, access_token=None, **params):
        """The case's page for this visitor: with the signed link when they came with one."""
        return self._collection_url(case, "", access_token, **params)

    def _collection_author(self, case):
        """Who wrote what the customer sends: the logged-in contact, else (a signed link) the customer."""
        return request.env.user.partner_id if self._collection_is_customer(case) else case.partner_id

    @http.route("/my/collections", type="http", auth="user", website=True)
    def portal_my_collections(self, **kwargs):
        return self._render_collections(self._collection_cases(), kwargs)

    @http.route("/my/collections/<int:case_id>", type="http", auth="public", website=True, sitemap=False)
    def portal_collection_case(self, case_id, access_token=None, **kwargs):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        return self._render_collections(case, kwargs, access_token=access_token)

    def _render_collections(self, cases, kwargs, access_token=None):
        statements = {
            case_id: document.with_lang(request.env.lang)  # in the language the customer browses in
            for case_id, document in request.env["collection.statement"].sudo()._for_cases(cases, links=True).items()
        }
        shown = cases.filtered(lambda c: statements[c.id].statement.lines)
        today = fields.Date.context_today(request.env.user)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collections",
                "cases": shown,
                "statements": statements,
                "latest_dates": {case.id: today + timedelta(days=self._promise_horizon(case)) for case in shown},
                "promise_defaults": {
                    case.id: float_repr(statements[case.id].amount_due, case.currency_id.decimal_places)
                    for case in shown
                },
                "today": today,
                "notice": kwargs.get("notice"),
                "error": kwargs.get("error"),
                "access_token": access_token,
            }
        )
        return request.render("account_collections.portal_my_collections", values)

    # ------------------------------------------------------------
    # PAYING
    # ------------------------------------------------------------

    @http.route("/my/collections/<int:case_id>/pay", type="http", auth="public", website=True, sitemap=False)
    def portal_collection_pay(self, case_id, access_token=None, kind=None, currency=None, **kwargs):
        """Odoo's payment form for what the customer chose: all overdue, some items, the next instalment."""
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        document = case._collection_statement().with_lang(request.env.lang)
        chosen_ids = request.httprequest.args.getlist("line")
        try:
            selection = document.selection(kind, currency, chosen_ids)
        except PaymentSelectionError as error:
            if error.code == "unknown":
                raise request.not_found() from error
            return request.redirect(
                self._collection_page_url(case, access_token, error=error.code) + f"#case-{case.id}"
            )
        values = self._prepare_portal_layout_values()
        values.update(self._collection_payment_values(case, document, selection, access_token))
        return request.render("account_collections.portal_collection_pay", values)

    def _collection_payer(self, case):
        """Who pays: the logged-in contact of the customer (their saved cards), else the customer."""
        return request.env.user.partner_id if self._collection_is_customer(case) else case.partner_id

    def _collection_payment_values(self, case, document, selection, access_token):
        """The values of ``payment.form`` for a selection (as account_payment's ``_get_common_page_view_values``)."""
        currency = document.currency(selection.currency)
        partner_sudo = self._collection_payer(case).sudo()
        company = case.company_id
        amount = float(selection.amount)
        report = {}
        providers_sudo = (
            request.env["payment.provider"]
            .sudo()
            ._get_compatible_providers(company.id, partner_sudo.id, amount, currency_id=currency.id, report=report)
        )
        methods_sudo = (
            request.env["payment.method"]
            .sudo()
            ._get_compatible_payment_methods(
                providers_sudo.ids, partner_sudo.id, currency_id=currency.id, report=report
            )
        )
        tokens_sudo = request.env["payment.token"].sudo()._get_available_tokens(providers_sudo.ids, partner_sudo.id)
        token = access_token or case._collection_link_token()
        return {
            "page_name": "collections",
            "case": case,
            "statement": document,
            "selection": selection,
            "back_url": self._collection_page_url(case, access_token) + f"#case-{case.id}",
            "company_mismatch": not PaymentPortal._can_partner_pay_in_company(partner_sudo, company),
            "expected_company": company,
            "show_tokenize_input_mapping": PaymentPortal._compute_show_tokenize_input_mapping(providers_sudo),
            "amount": amount,
            "currency": currency,
            "partner_id": partner_sudo.id,
            "providers_sudo": providers_sudo,
            "payment_methods_sudo": methods_sudo,
            "tokens_sudo": tokens_sudo,
            "availability_report": report,
            "transaction_route": f"/my/collections/{case.id}/transaction/{selection.key}",
            "landing_route": self._collection_page_url(case, token, notice="paid"),
            "access_token": token,
            "payment_reference": False,
        }

    @http.route("/my/collections/<int:case_id>/transaction/<string:key>", type="json", auth="public")
    def portal_collection_transaction(self, case_id, key, access_token=None, amount=None, **kwargs):
        """Create the transaction of a selection, checked again against the statement as it stands now."""
        env = request.env
        case = env["collection.case"].sudo().browse(case_id).exists()
        allowed = case and (
            case._collection_link_state(access_token) == "valid" if access_token else self._collection_is_customer(case)
        )
        if not allowed:
            raise request.not_found()
        parsed = parse_selection_key(key)
        if not parsed:
            raise ValidationError(env._("The payment link is not valid."))
        kind, currency_code, item_ids = parsed
        try:
            selection = case._collection_statement().selection(kind, currency_code, item_ids)
        except PaymentSelectionError as error:
            if error.code == "unknown":
                raise request.not_found() from error
            raise ValidationError(error.message) from error
        currency = env["res.currency"].sudo().search([("name", "=", selection.currency)], limit=1)
        try:
            asked = float(amount)
        except (TypeError, ValueError):
            asked = None
        if asked is None or float_compare(asked, float(selection.amount), precision_rounding=currency.rounding):
            raise ValidationError(env._("The amount due has changed since the page was shown: please reload the page."))
        lines = env["account.move.line"].sudo().browse(selection.line_ids + selection.credit_line_ids)
        self._collection_check_lines(case, lines, currency)
        self._validate_transaction_kwargs(kwargs, additional_allowed_keys=("payment_reference",))
        kwargs.pop("payment_reference", None)
        moves = lines.browse(selection.line_ids).move_id
        prefix = moves.name if len(moves) == 1 else case.company_id.get_next_batch_payment_communication()
        tx_sudo = self._create_transaction(
            amount=float(selection.amount),
            currency_id=currency.id,
            partner_id=self._collection_payer(case).id,
            reference_prefix=prefix,
            custom_create_values={
                "collection_case_id": case.id,
                "collection_line_ids": [Command.set(selection.line_ids)],
                "collection_credit_line_ids": [Command.set(selection.credit_line_ids)],
            },
            **kwargs,
        )
        return tx_sudo._get_processing_values()

    def _collection_check_lines(self, case, lines, currency):
        """The lines are open receivables of the case's customer and company, in the payment's currency."""
        env = request.env
        partner = case.partner_id.commercial_partner_id
        wrong = lines.filtered(
            lambda line: line.move_id.commercial_partner_id != partner
            or line.company_id != case.company_id
            or line.currency_id != currency
            or line.account_id.account_type != "asset_receivable"
            or line.parent_state != "posted"
            or line.reconciled
        )
        if wrong or not lines:
            raise ValidationError(env._("These items cannot be paid online any more: please reload the page."))

    @http.route(
        "/my/collections/<int:case_id>/promise",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def portal_collection_promise(self, case_id, promised_date=None, amount=None, access_token=None, **kwargs):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        env = request.env

        def back(**params):
            return request.redirect(self._collection_page_url(case, access_token, **params) + f"#case-{case.id}")

        today = fields.Date.context_today(env.user)
        try:
            when = fields.Date.to_date(promised_date)
            value = float(amount)
        except (TypeError, ValueError):
            return back(error="promise_invalid")
        if not when or when < today or when > today + timedelta(days=self._promise_horizon(case)):
            return back(error="promise_date")
        document = case._collection_statement()
        totals = document.company_statement.totals_for(case.currency_id.name)
        limit = max(float(totals.balance), document.amount_due)
        if value <= 0 or float_compare(value, limit, precision_rounding=case.currency_id.rounding) > 0:
            return back(error="promise_amount")
        case.promise_ids.with_context(collection_promise_logged=True).create(
            {"case_id": case.id, "amount": value, "promised_date": when}
        )
        case.message_post(
            body=env._(
                "Promise to pay %(amount)s by %(date)s, made in the customer portal.",
                amount=document.amount(value, case.currency_id.name),
                date=document.date(when),
            ),
            author_id=self._collection_author(case).id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        return back(notice="promise")

    @http.route(
        "/my/collections/<int:case_id>/dispute",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def portal_collection_dispute(self, case_id, move_id=None, reason=None, access_token=None, **kwargs):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        env = request.env

        def back(**params):
            return request.redirect(self._collection_page_url(case, access_token, **params) + f"#case-{case.id}")

        document = case._collection_statement()
        move = document.disputable_moves().filtered(lambda m: str(m.id) == str(move_id))
        reason = (reason or "").strip()
        if not move or not reason:
            return back(error="dispute_invalid")
        move.action_collection_toggle_dispute()
        body = env._("The customer disputes %(invoice)s in the portal: %(reason)s", invoice=move.name, reason=reason)
        move.message_post(
            body=body, author_id=self._collection_author(case).id, message_type="comment", subtype_xmlid="mail.mt_note"
        )
        case.message_post(
            body=body, author_id=self._collection_author(case).id, message_type="comment", subtype_xmlid="mail.mt_note"
        )
        if case.user_id:
            case.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=env._("Review the dispute of %s", move.name),
                note=reason,
                user_id=case.user_id.id,
            )
        return back(notice="dispute")
