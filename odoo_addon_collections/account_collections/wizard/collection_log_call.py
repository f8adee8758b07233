import uuid

from odoo import fields, models
from odoo.tools.misc import format_amount, format_date

from ..models.collection_action import ACTIVITY_TYPES

OUTCOMES = [
    ("responded", "Talked to the customer"),
    ("promised", "Promised to pay"),
    ("paid", "Says it is paid"),
    ("disputed", "Disputes the invoices"),
    ("no_answer", "No answer"),
]


class CollectionLogCall(models.TransientModel):
    _name = "collection.log.call"
    _description = "Log a Collection Call or Visit"

    case_id = fields.Many2one("collection.case", required=True, ondelete="cascade")
    channel = fields.Selection([("call", "Call"), ("visit", "Visit")], required=True, default="call")
    outcome = fields.Selection(OUTCOMES, required=True, default="responded")
    note = fields.Text()
    pause_days = fields.Integer(string="Pause Reminders (days)", help="Leave the customer alone for this many days.")
    promised_date = fields.Date()
    currency_id = fields.Many2one(related="case_id.currency_id")
    promised_amount = fields.Monetary()

    def action_log(self):
        """Record the call or visit in the history (the engine learns from its outcome) and close its task."""
        self.ensure_one()
        case = self.case_id
        channel = self.channel
        cost = case.company_id[f"collection_cost_{channel}"]
        now = fields.Datetime.now()
        outcome = dict(self._fields["outcome"]._description_selection(self.env))[self.outcome]  # the user's language
        self.env["collection.action"].create(
            {
                "key": f"manual-{channel}-{uuid.uuid4().hex}",
                "case_id": case.id,
                "channel": channel,
                "state": "done",
                "outcome": self.outcome,
                "not_before": now,
                "planned_at": now,
                "done_date": now,
                "cost": cost,
                "reason": self.note or dict(OUTCOMES)[self.outcome],
            }
        )
        pending = case.action_ids.filtered(lambda a: a.channel == channel and a.state == "to_do")
        pending.write({"state": "done", "done_date": now, "outcome": self.outcome})
        case.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref(ACTIVITY_TYPES[channel])
        ).action_feedback(feedback=self.note or outcome)
        promised = self.outcome == "promised" and self.promised_date and self.promised_amount > 0
        if promised:
            self.env["collection.promise"].with_context(collection_promise_logged=True).create(
                {"case_id": case.id, "amount": self.promised_amount, "promised_date": self.promised_date}
            )
        if self.pause_days > 0:
            case.partner_id.commercial_partner_id.collection_paused_until = fields.Date.add(
                fields.Date.context_today(self), days=self.pause_days
            )
        if self.outcome == "disputed":
            case.message_post(body=self.env._("The customer disputes the invoices: mark them as disputed."))
        if channel == "visit":
            logged = self.env._("Visit logged: %(outcome)s. %(note)s", outcome=outcome, note=self.note or "")
        else:
            logged = self.env._("Call logged: %(outcome)s. %(note)s", outcome=outcome, note=self.note or "")
        sentences = [logged.strip()]
        if promised:
            sentences.append(
                self.env._(
                    "Promise to pay %(amount)s by %(date)s.",
                    amount=format_amount(self.env, self.promised_amount, case.currency_id),
                    date=format_date(self.env, self.promised_date),
                )
            )
        amount = format_amount(self.env, cost, case.currency_id)
        if channel == "visit":
            sentences.append(self.env._("Cost of the visit: %(cost)s.", cost=amount))
        else:
            sentences.append(self.env._("Cost of the call: %(cost)s.", cost=amount))
        case.message_post(body=" ".join(sentences))
        return {"type": "ir.actions.act_window_close"}
