import re
from urllib.parse import urlencode

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from ..models.collection_plan import FREQUENCIES
from ..models.collection_statement import STATEMENT
from .portal import CollectionPortal

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class CollectionSelfServicePortal(CollectionPortal):
    """The customer settles by themselves: propose a payment plan, choose how and when to be contacted.

    Every page and form is the logged-in customer's or, with the case's signed link (``access_token``),
    that case's customer's: one check, :meth:`CollectionPortal._collection_access`.
    """

    # ------------------------------------------------------------
    # PAYMENT PLAN
    # ------------------------------------------------------------

    @http.route(
        "/my/collections/<int:case_id>/plan", type="http", auth="public", methods=["GET"], website=True, sitemap=False
    )
    def portal_collection_plan(self, case_id, notice=None, error=None, access_token=None, **kwargs):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
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
                "access_token": access_token,
                "case_url": self._collection_url,
            }
        )
        return request.render("account_collections.portal_collection_plan", values)

    @http.route(
        "/my/collections/<int:case_id>/plan/propose",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def portal_collection_plan_propose(
        self, case_id, installments=None, frequency=None, down_payment=None, access_token=None, **kw
    ):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        try:
            count = int(installments)
            down = float(down_payment or 0)
        except (TypeError, ValueError):
            return self._render_plan_error(
                case,
                request.env._("Please give the number of instalments and a down " "payment as numbers."),
                access_token,
            )
        try:
            plan = request.env["collection.plan"].sudo()._propose_from_portal(case, count, frequency, down)
        except UserError as err:
            return self._render_plan_error(case, str(err), access_token)
        notice = "accepted" if plan.approval_state == "accepted" else "proposed"
        return request.redirect(self._collection_url(case, "/plan", access_token, notice=notice))

    def _render_plan_error(self, case, message, access_token=None):
        return self.portal_collection_plan(case.id, error=message, access_token=access_token)

    # ------------------------------------------------------------
    # STATEMENT OF ACCOUNT
    # ------------------------------------------------------------

    @http.route(
        "/my/collections/<int:case_id>/statement",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def portal_collection_statement(self, case_id, access_token=None, **kwargs):
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
        document = case._collection_statement(purpose=STATEMENT).with_lang(request.env.lang)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "collection_statement",
                "case": case,
                "statement": document,
                "access_token": access_token,
                "case_url": self._collection_url,
            }
        )
        return request.render("account_collections.portal_collection_statement", values)

    @http.route(
        "/my/collections/<int:case_id>/statement/pdf",
        type="http",
        auth="public",
        methods=["GET"],
        website=True,  # the refusal (404/403) is a portal page
        sitemap=False,
    )
    def portal_collection_statement_pdf(self, case_id, access_token=None, **kwargs):
        """The statement as a PDF (HTML where the server has no wkhtmltopdf), in the reader's language."""
        case, refused = self._collection_case_access(case_id, access_token)
        if refused:
            return refused
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

    @http.route(
        ["/my/collections/preferences", "/my/collections/<int:case_id>/preferences"],
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
    )
    def portal_collection_preferences(self, case_id=None, notice=None, error=None, access_token=None, **kwargs):
        """The customer's contact preferences: the logged-in customer's, or (every reminder's opt-out link) the
        customer of the case whose signed link the visitor holds."""
        case, partner, refused = self._collection_access(case_id, access_token)
        if refused:
            return refused
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
                "case": case,
                "access_token": access_token,
                "form_action": self._preferences_url(case, None),  # the token: a hidden field
            }
        )
        return request.render("account_collections.portal_collection_preferences", values)

    def _preferences_url(self, case, access_token, **params):
        if not case:
            return "/my/collections/preferences" + (f"?{urlencode(params)}" if params else "")
        return self._collection_url(case, "/preferences", access_token, **params)

    @http.route(
        ["/my/collections/preferences", "/my/collections/<int:case_id>/preferences"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def portal_collection_preferences_save(self, case_id=None, access_token=None, **post):
        case, partner, refused = self._collection_access(case_id, access_token)
        if refused:
            return refused
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
            return self.portal_collection_preferences(case_id, error=error, access_token=access_token)
        values = {f"collection_opt_out_{channel.key}": channel.key in opted_out for channel in channels}
        values.update(
            {
                "collection_preferred_channel": preferred,
                "collection_hours": f"{hour_from}-{hour_to}" if hour_from else False,
                "collection_weekdays": chosen._as_text() or False,
            }
        )
        # a change through a reminder's signed link says so in the consent log (nobody was logged in)
        signed = bool(access_token and case)
        partner.sudo().with_context(collection_consent_source="portal", collection_consent_signed_link=signed).write(
            values
        )
        return request.redirect(self._preferences_url(case, access_token, notice="saved"))
