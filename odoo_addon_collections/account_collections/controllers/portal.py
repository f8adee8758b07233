from datetime import timedelta

from odoo import fields, http
from odoo.http import request
from odoo.tools import float_compare, float_repr

from odoo.addons.portal.controllers.portal import CustomerPortal


class CollectionPortal(CustomerPortal):
    """The customer's side of a collection case: what is due, pay it, promise a date, dispute an invoice."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "collection_case_count" in counters:
            values["collection_case_count"] = len(self._collection_cases().filtered("open_amount"))
        return values

    def _collection_cases(self):
        """The cases of the logged-in customer (any contact of the company), read as superuser."""
        partner = request.env.user.partner_id.commercial_partner_id
        return request.env["collection.case"].sudo().search([("partner_id", "=", partner.id)])

    def _collection_case(self, case_id):
        case = self._collection_cases().filtered(lambda c: c.id == case_id)
        if not case:
            raise request.not_found()
        return case

    def _promise_horizon(self, case):
        """The furthest promised date the policy accepts (``promises.max_days_ahead``)."""
        return case.env["collection.run"]._policy(case.company_id).promises.max_days_ahead

    @http.route("/my/collections", type="http", auth="user", website=True)
    def portal_my_collections(self, **kwargs):
        cases = self._collection_cases()
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
            }
        )
        return request.render("account_collections.portal_my_collections", values)

    @http.route("/my/collections/<int:case_id>/promise", type="http", auth="user", methods=["POST"], website=True)
    def portal_collection_promise(self, case_id, promised_date=None, amount=None, **kwargs):
        case = self._collection_case(case_id)
        env = request.env
        today = fields.Date.context_today(env.user)
        try:
            when = fields.Date.to_date(promised_date)
            value = float(amount)
        except (TypeError, ValueError):
            return request.redirect(f"/my/collections?error=promise_invalid#case-{case.id}")
        if not when or when < today or when > today + timedelta(days=self._promise_horizon(case)):
            return request.redirect(f"/my/collections?error=promise_date#case-{case.id}")
        document = case._collection_statement()
        totals = document.company_statement.totals_for(case.currency_id.name)
        limit = max(float(totals.balance), document.amount_due)
        if value <= 0 or float_compare(value, limit, precision_rounding=case.currency_id.rounding) > 0:
            return request.redirect(f"/my/collections?error=promise_amount#case-{case.id}")
        case.promise_ids.with_context(collection_promise_logged=True).create(
            {"case_id": case.id, "amount": value, "promised_date": when}
        )
        case.message_post(
            body=env._(
                "Promise to pay %(amount)s by %(date)s, made in the customer portal.",
                amount=document.amount(value, case.currency_id.name),
                date=document.date(when),
            ),
            author_id=env.user.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        return request.redirect(f"/my/collections?notice=promise#case-{case.id}")

    @http.route("/my/collections/<int:case_id>/dispute", type="http", auth="user", methods=["POST"], website=True)
    def portal_collection_dispute(self, case_id, move_id=None, reason=None, **kwargs):
        case = self._collection_case(case_id)
        env = request.env
        document = case._collection_statement()
        move = document.disputable_moves().filtered(lambda m: str(m.id) == str(move_id))
        reason = (reason or "").strip()
        if not move or not reason:
            return request.redirect(f"/my/collections?error=dispute_invalid#case-{case.id}")
        move.action_collection_toggle_dispute()
        body = env._("The customer disputes %(invoice)s in the portal: %(reason)s", invoice=move.name, reason=reason)
        move.message_post(
            body=body, author_id=env.user.partner_id.id, message_type="comment", subtype_xmlid="mail.mt_note"
        )
        case.message_post(
            body=body, author_id=env.user.partner_id.id, message_type="comment", subtype_xmlid="mail.mt_note"
        )
        if case.user_id:
            case.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=env._("Review the dispute of %s", move.name),
                note=reason,
                user_id=case.user_id.id,
            )
        return request.redirect(f"/my/collections?notice=dispute#case-{case.id}")
