import re

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..models.collection_plan import FREQUENCIES
from ..models.collection_statement import STATEMENT

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class CollectionSelfServicePortal(CustomerPortal):
    """The customer settles by themselves: propose a payment plan, choose how and when to be contacted."""

    def _self_service_partner(self):
        """The commercial partner of the logged-in customer (their company), read as superuser."""
        return request.env.user.partner_id.commercial_partner_id.sudo()

    def _self_service_case(self, case_id):
        """The customer's own case, else 404 (another customer's id tells nothing)."""
        case = (
            request.env["collection.case"]
            .sudo()
            .search([("id", "=", case_id), ("partner_id", "=", self._self_service_partner().id)])
        )
        if not case:
            raise request.not_found()
        return case

    # ------------------------------------------------------------
    # PAYMENT PLAN
    # ------------------------------------------------------------

    @http.route("/my/collections/<int:case_id>/plan", type="http", auth="user", methods=["GET"], website=True)
    def portal_collection_plan(self, case_id, notice=None, error=None, **kwargs):
        case = self._self_service_case(case_id)
        Plan = request.env["collection.plan"].sudo()
        terms = Plan._portal_terms(case)
        document = case._collection_statement().with_lang(request.env.lang)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_plan",
                "case": case,
                "statement": document,
                "terms": terms,
                "frequencies": [
                    (key, label)
                    for key, label in Plan._fields["frequency"]._description_selection(request.env)
                    if not terms["rule"] or key in terms["rule"].frequencies
                ]
                or FREQUENCIES,
                "plans": case.plan_ids.filtered(lambda p: p.source == "portal" or p.approval_state == "accepted"),
                "notice": notice,
                "error": error,
            }
        )
        return request.render("account_collections.portal_collection_plan", values)

    @http.route("/my/collections/<int:case_id>/plan/propose", type="http", auth="user", methods=["POST"], website=True)
    def portal_collection_plan_propose(self, case_id, installments=None, frequency=None, down_payment=None, **kw):
        case = self._self_service_case(case_id)
        url = f"/my/collections/{case.id}/plan"
        try:
            count = int(installments)
            down = float(down_payment or 0)
        except (TypeError, ValueError):
            return self._render_plan_error(
                case, request.env._("Please give the number of instalments and a down " "payment as numbers.")
            )
        try:
            plan = request.env["collection.plan"].sudo()._propose_from_portal(case, count, frequency, down)
        except UserError as err:
            return self._render_plan_error(case, str(err))
        notice = "accepted" if plan.approval_state == "accepted" else "proposed"
        return request.redirect(f"{url}?notice={notice}")

    def _render_plan_error(self, case, message):
        return self.portal_collection_plan(case.id, error=message)

    # ------------------------------------------------------------
    # STATEMENT OF ACCOUNT
    # ------------------------------------------------------------

    @http.route("/my/collections/<int:case_id>/statement", type="http", auth="user", methods=["GET"], website=True)
    def portal_collection_statement(self, case_id, **kwargs):
        case = self._self_service_case(case_id)
        document = case._collection_statement(purpose=STATEMENT).with_lang(request.env.lang)
        values = self._prepare_portal_layout_values()
        values.update({"page_name": "collection_statement", "case": case, "statement": document})
        return request.render("account_collections.portal_collection_statement", values)

    @http.route("/my/collections/<int:case_id>/statement/pdf", type="http", auth="user", methods=["GET"])
    def portal_collection_statement_pdf(self, case_id, **kwargs):
        """The statement as a PDF (HTML where the server has no wkhtmltopdf), in the reader's language."""
        case = self._self_service_case(case_id)
        report = request.env.ref("account_collections.action_report_collection_statement").sudo()
        report = report.with_context(collection_statement_lang=request.env.lang)
        content, kind = request.env["collection.action"].sudo()._render_report(report, case.ids)
        mimetype = "application/pdf" if kind == "pdf" else "text/html; charset=utf-8"
        filename = f"statement-{case.id}.{'pdf' if kind == 'pdf' else 'html'}"
        return request.make_response(
            content,
            headers=[("Content-Type", mimetype), ("Content-Disposition", f'inline; filename="{filename}"')],
        )

    # ------------------------------------------------------------
    # CONTACT PREFERENCES
    # ------------------------------------------------------------

    @http.route("/my/collections/preferences", type="http", auth="user", methods=["GET"], website=True)
    def portal_collection_preferences(self, notice=None, error=None, **kwargs):
        partner = self._self_service_partner()
        hours = (partner.collection_hours or "").split(",")[0].split("-")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_preferences",
                "partner": partner,
                "channels": request.env["collection.channel"].sudo().search([]),
                "weekdays": request.env["collection.weekday"].sudo().search([]),
                "chosen_days": partner.collection_weekday_ids,
                "hour_from": hours[0] if len(hours) == 2 else "",
                "hour_to": hours[1] if len(hours) == 2 else "",
                "notice": notice,
                "error": error,
            }
        )
        return request.render("account_collections.portal_collection_preferences", values)

    @http.route("/my/collections/preferences", type="http", auth="user", methods=["POST"], website=True)
    def portal_collection_preferences_save(self, **post):
        partner = self._self_service_partner()
        env = request.env
        channels = env["collection.channel"].sudo().search([])
        opted_out = {channel.key for channel in channels if post.get(f"opt_out_{channel.key}")}
        preferred = post.get("preferred_channel") or False
        hour_from, hour_to = (post.get("hour_from") or "").strip(), (post.get("hour_to") or "").strip()
        days = env["collection.weekday"].sudo().search([])
        chosen = days.filtered(lambda day: post.get(f"day_{day.id}"))
        if preferred and preferred not in channels.mapped("key"):
            error = env._("Choose one of the channels offered.")
        elif preferred in opted_out:
            error = env._("Your preferred channel cannot be one you opt out of.")
        elif bool(hour_from) != bool(hour_to) or any(h and not _TIME.match(h) for h in (hour_from, hour_to)):
            error = env._("Give both contact hours as HH:MM, or neither.")
        elif hour_from and hour_from >= hour_to:
            error = env._("The contact hours must end after they start.")
        elif len(opted_out) == len(channels):
            error = env._("Keep at least one channel open, so that we can reach you about your account.")
        else:
            error = None
        if error:
            return self.portal_collection_preferences(error=error)
        values = {f"collection_opt_out_{channel.key}": channel.key in opted_out for channel in channels}
        values.update(
            {
                "collection_preferred_channel": preferred,
                "collection_hours": f"{hour_from}-{hour_to}" if hour_from else False,
                "collection_weekdays": chosen._as_text() or False,
            }
        )
        partner.with_context(collection_consent_source="portal").write(values)
        return request.redirect("/my/collections/preferences?notice=saved")
