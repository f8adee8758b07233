"""Payment prediction in Odoo: the cash expected each coming week, and each case's outlook.

The daily run of a company trains the engine's payment model on the company's own history
(`collections_engine.forecast.payment_outlook`, the same the connectors' `run` prints), predicts
every open item (the probability it is paid late, its expected payment date) and keeps:
the cash-in expected by week (this model, the latest run's weeks) and, on each case, the amount
at risk, the share at risk of what is not due yet and the date its balance is expected to be paid.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from collections_engine.engine import local_today
from collections_engine.errors import InputError
from collections_engine.forecast import payment_outlook
from collections_engine.money import rate_for
from collections_engine.prediction import PredictionSettings

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class CollectionForecast(models.Model):
    _name = "collection.forecast"
    _description = "Collections Cash-in Forecast"
    _order = "company_id, week_start"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(string="Forecast Made On", required=True, readonly=True)
    week_start = fields.Date(string="Week", required=True, readonly=True, help="The Monday the week starts on.")
    later = fields.Boolean(readonly=True, help="Everything expected after the last week shown, on its Monday.")
    amount = fields.Monetary(string="Expected Cash-in", readonly=True)
    items = fields.Integer(string="Open Items", readonly=True)

    @api.model
    def _take(self, company, policy, as_of, book):
        """Predict the company's open items; replace its forecast and write each case's outlook.

        A ledger whose history cannot teach the model (too few settled items) gets no forecast: the
        previous one is removed and the cases' outlook cleared, and the log says why.
        """
        portfolio, history, partner_ids = book
        today = local_today(policy, as_of)
        forecast = self.sudo()  # computed records: users read them, the run keeps them
        forecast.search([("company_id", "=", company.id)]).unlink()
        cases = self.env["collection.case"].search([("company_id", "=", company.id), ("partner_id", "in", partner_ids)])
        try:
            outlook = payment_outlook(portfolio, history, today, PredictionSettings.from_policy(policy))
        except InputError as err:
            _logger.info("No payment prediction for %s: %s", company.name, err)
            self.env["collection.run"]._update_cases(
                [
                    (case.id, {"amount_at_risk": 0.0, "not_due_risk": 0.0, "expected_payment_date": False})
                    for case in cases
                ]
            )
            return forecast
        rows = [
            {
                "company_id": company.id,
                "date": today,
                "week_start": week.week_start,
                "amount": float(week.amount),
                "items": week.items,
            }
            for week in outlook.weeks
        ]
        if outlook.later_items:
            rows.append(
                {
                    "company_id": company.id,
                    "date": today,
                    "week_start": outlook.weeks[-1].week_start + timedelta(weeks=1),
                    "later": True,
                    "amount": float(outlook.later_amount),
                    "items": outlook.later_items,
                }
            )
        by_customer = {}
        for prediction in outlook.predictions.values():
            by_customer.setdefault(prediction.customer_id, []).append(prediction)
        updates = []
        for case in cases:
            predictions = by_customer.get(str(case.partner_id.id), [])
            at_risk = outlook.amount_at_risk(p.item_id for p in predictions)
            not_due = [p for p in predictions if p.due_date >= today]
            open_not_due = sum(
                (p.open_amount * rate_for(p.currency, outlook.company_currency, outlook.rates) for p in not_due),
                Decimal(0),
            )
            risk_not_due = outlook.amount_at_risk(p.item_id for p in not_due)
            updates.append(
                (
                    case.id,
                    {
                        "amount_at_risk": float(at_risk),
                        "not_due_risk": float(risk_not_due / open_not_due * 100) if open_not_due else 0.0,
                        "expected_payment_date": max((p.expected_payment_date for p in predictions), default=False),
                    },
                )
            )
        self.env["collection.run"]._update_cases(updates)
        return forecast.create(rows)
