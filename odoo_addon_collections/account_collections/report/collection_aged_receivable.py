"""Aged Receivables: what each customer owes as of a date, by bucket of days past the due date.

Odoo Community has no aged receivables report. This one reads the receivable journal items as
they stood on the chosen date (their balance less the reconciliations made by then, so a past
date shows what was open that day), ages them with the engine's buckets (the policy's
`aging_buckets` unless the user sets others), and shows them in a pivot (customers by bucket,
drill down to the items), a list and an XLSX workbook.
"""

import base64
import io
from collections import defaultdict

from collections_engine.aging import bucket_index, bucket_labels

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import xlsxwriter

OPEN_ON_DATE = """
    SELECT line.id, line.company_id, move.commercial_partner_id, line.move_id,
           COALESCE(move.invoice_date, line.date), COALESCE(line.date_maturity, line.date),
           line.balance
             - COALESCE((SELECT SUM(partial.amount) FROM account_partial_reconcile partial
                          WHERE partial.debit_move_id = line.id AND partial.max_date <= %(date)s), 0)
             + COALESCE((SELECT SUM(partial.amount) FROM account_partial_reconcile partial
                          WHERE partial.credit_move_id = line.id AND partial.max_date <= %(date)s), 0),
           line.currency_id,
           line.amount_currency
             - COALESCE((SELECT SUM(partial.debit_amount_currency) FROM account_partial_reconcile partial
                          WHERE partial.debit_move_id = line.id AND partial.max_date <= %(date)s), 0)
             + COALESCE((SELECT SUM(partial.credit_amount_currency) FROM account_partial_reconcile partial
                          WHERE partial.credit_move_id = line.id AND partial.max_date <= %(date)s), 0)
      FROM account_move_line line
      JOIN account_account account ON account.id = line.account_id
      JOIN account_move move ON move.id = line.move_id
     WHERE line.company_id IN %(companies)s
       AND line.parent_state = 'posted'
       AND account.account_type = 'asset_receivable'
       AND line.date <= %(date)s
       AND (NOT line.reconciled
            OR EXISTS (SELECT 1 FROM account_partial_reconcile partial
                        WHERE (partial.debit_move_id = line.id OR partial.credit_move_id = line.id)
                          AND partial.max_date > %(date)s))
"""


def parse_bounds(env, text):
    """The upper bounds of the buckets from '30, 60, 90, 120': whole days, increasing."""
    try:
        bounds = [int(part) for part in (text or "").replace(";", ",").split(",") if part.strip()]
    except ValueError:
        bounds = None
    if not bounds or any(bound < 1 for bound in bounds) or bounds != sorted(set(bounds)):
        raise UserError(
            env._(
                "Buckets: write the last day of each bucket, increasing, separated by commas "
                "(for example 30, 60, 90, 120), not '%(text)s'.",
                text=text or "",
            )
        )
    return bounds


class CollectionAgedReceivable(models.TransientModel):
    _name = "collection.aged.receivable"
    _description = "Aged Receivables"

    date = fields.Date(
        string="As of",
        required=True,
        default=fields.Date.context_today,
        help="What was open at the end of this day: payments and credit notes reconciled after it count as open.",
    )
    bounds = fields.Char(
        string="Buckets",
        required=True,
        default=lambda self: self._default_bounds(),
        help="The last day past due of each bucket, separated by commas: 30, 60, 90, 120 gives Not due, "
        "1-30, 31-60, 61-90, 91-120 and Over 120 days (the collections policy's buckets by default).",
    )
    company_ids = fields.Many2many(
        "res.company",
        string="Companies",
        required=True,
        default=lambda self: self.env.companies,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", help="Only these customers (all customers with receivables if empty)."
    )
    bucket_ids = fields.One2many("collection.aged.receivable.bucket", "report_id", string="Columns")
    line_ids = fields.One2many("collection.aged.receivable.line", "report_id", string="Items")
    total = fields.Monetary(compute="_compute_total")
    xlsx_file = fields.Binary(string="Workbook", readonly=True, attachment=False)
    xlsx_name = fields.Char(string="Workbook Name", readonly=True)

    def _default_bounds(self):
        # the buckets are part of the collections policy, which accountants without the collections
        # groups cannot read: reading them as superuser discloses nothing else
        try:
            bounds = self.env["collection.run"].sudo()._policy(self.env.company).aging_buckets
        except UserError:  # the configuration does not make a valid policy yet
            bounds = (30, 60, 90, 120)
        return ", ".join(str(bound) for bound in bounds)

    @api.depends("company_ids")
    def _compute_currency_id(self):
        for report in self:
            report.currency_id = report.company_ids[:1].currency_id or self.env.company.currency_id

    @api.depends("line_ids.amount")
    def _compute_total(self):
        for report in self:
            report.total = sum(report.line_ids.mapped("amount"))

    def _companies(self):
        """The chosen companies among those the user works in now, which must share a currency (amounts are
        not converted)."""
        self.ensure_one()
        companies = self.company_ids & self.env.companies
        if not companies:
            raise UserError(_("Choose at least one of the companies you are working in."))
        if len(companies.currency_id) > 1:
            raise UserError(
                _(
                    "The companies keep their books in different currencies (%(currencies)s): age them in "
                    "separate reports.",
                    currencies=", ".join(companies.currency_id.mapped("name")),
                )
            )
        return companies

    def _compute_lines(self):
        """Replace the report's buckets and lines with the receivables open at the end of its date."""
        self.ensure_one()
        bounds = parse_bounds(self.env, self.bounds)
        companies = self._companies()
        self.line_ids.unlink()
        self.bucket_ids.unlink()
        buckets = self.env["collection.aged.receivable.bucket"].create(
            [
                {"report_id": self.id, "sequence": index, "name": self._bucket_name(low, high), "low": low or 0}
                for index, (_label, low, high) in enumerate(bucket_labels(bounds))
            ]
        )
        query = OPEN_ON_DATE
        params = {"date": self.date, "companies": tuple(companies.ids)}
        if self.partner_ids:
            query += " AND move.commercial_partner_id IN %(partners)s"
            params["partners"] = tuple(self.partner_ids.commercial_partner_id.ids)
        self.env.flush_all()  # the journal items and reconciliations the ORM has not written yet
        self.env.cr.execute(query + " ORDER BY line.id", params)
        today = self.date.toordinal()
        values = []
        for (
            line_id,
            company_id,
            partner_id,
            move_id,
            issued,
            due,
            residual,
            currency_id,
            residual_currency,
        ) in self.env.cr.fetchall():
            if not residual and not residual_currency:
                continue
            days = today - due.toordinal()
            values.append(
                {
                    "report_id": self.id,
                    "company_id": company_id,
                    "partner_id": partner_id,
                    "move_id": move_id,
                    "move_line_id": line_id,
                    "invoice_date": issued,
                    "date_maturity": due,
                    "days_overdue": max(days, 0),
                    "bucket_id": buckets[bucket_index(days, bounds)].id,
                    "amount": residual,
                    "line_currency_id": currency_id,
                    "amount_currency": residual_currency,
                }
            )
        self.env["collection.aged.receivable.line"].create(values)
        return buckets

    @api.model
    def _bucket_name(self, low, high):
        if high == 0:
            return _("Not due")
        if high is None:
            return _("Over %(days)s days", days=low - 1)
        return _("%(low)s-%(high)s days", low=low, high=high)

    def action_show(self):
        """Compute the report and open it: customers by bucket (pivot), the items (list)."""
        self._compute_lines()
        return {
            "type": "ir.actions.act_window",
            "name": _("Aged Receivables as of %(date)s", date=fields.Date.to_string(self.date)),
            "res_model": "collection.aged.receivable.line",
            "views": [
                (self.env.ref("account_collections.view_collection_aged_receivable_line_pivot").id, "pivot"),
                (self.env.ref("account_collections.view_collection_aged_receivable_line_list").id, "list"),
            ],
            "domain": [("report_id", "=", self.id)],
            "context": {"search_default_group_partner": 0},
            "target": "current",
        }

    def action_export_xlsx(self):
        """Compute the report and download it as an XLSX workbook: a summary sheet and an items sheet."""
        self._compute_lines()
        self.xlsx_file = base64.b64encode(self._xlsx())
        self.xlsx_name = _("aged-receivables-%(date)s.xlsx", date=fields.Date.to_string(self.date))
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{self._name}/{self.id}/xlsx_file/{self.xlsx_name}?download=true",
            "target": "self",
        }

    def _summary(self):
        """Rows of the summary: (partner, [amount per bucket], total), by partner name, then the totals."""
        self.ensure_one()
        buckets = self.bucket_ids.sorted("sequence")
        position = {bucket.id: index for index, bucket in enumerate(buckets)}
        amounts = defaultdict(lambda: [0.0] * len(buckets))
        for line in self.line_ids:
            amounts[line.partner_id][position[line.bucket_id.id]] += line.amount
        rows = sorted(amounts.items(), key=lambda row: ((row[0].name or "").lower(), row[0].id))
        totals = [sum(row[index] for _partner, row in rows) for index in range(len(buckets))]
        return buckets, rows, totals

    def _xlsx(self):
        buckets, rows, totals = self._summary()
        currency = self.currency_id
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        bold = workbook.add_format({"bold": True})
        decimals = "0" * currency.decimal_places
        money = workbook.add_format({"num_format": f"#,##0.{decimals}" if decimals else "#,##0"})
        money_bold = workbook.add_format({"num_format": money.num_format, "bold": True})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})

        sheet = workbook.add_worksheet(_("Aged Receivables"))
        sheet.write(0, 0, _("Aged Receivables"), bold)
        sheet.write(1, 0, _("As of"))
        sheet.write_datetime(1, 1, fields.Datetime.to_datetime(self.date), day)
        sheet.write(2, 0, _("Companies"))
        sheet.write(2, 1, ", ".join(self._companies().mapped("name")))
        sheet.write(3, 0, _("Currency"))
        sheet.write(3, 1, currency.name)
        header = 5
        sheet.write_row(header, 0, [_("Customer"), *buckets.mapped("name"), _("Total")], bold)
        for offset, (partner, amounts) in enumerate(rows, start=1):
            sheet.write(header + offset, 0, partner.display_name or _("Unknown customer"))
            for column, amount in enumerate([*amounts, sum(amounts)], start=1):
                sheet.write_number(header + offset, column, currency.round(amount), money)
        last = header + len(rows) + 1
        sheet.write(last, 0, _("Total"), bold)
        for column, amount in enumerate([*totals, sum(totals)], start=1):
            sheet.write_number(last, column, currency.round(amount), money_bold)
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, len(buckets) + 1, 14)
        sheet.freeze_panes(header + 1, 1)

        items = workbook.add_worksheet(_("Items"))
        columns = [
            _("Customer"),
            _("Document"),
            _("Invoice Date"),
            _("Due Date"),
            _("Days Overdue"),
            _("Bucket"),
            _("Amount in Currency"),
            _("Currency"),
            _("Open Amount"),
        ]
        items.write_row(0, 0, columns, bold)
        lines = self.line_ids.sorted(lambda line: ((line.partner_id.name or "").lower(), line.date_maturity, line.id))
        for row, line in enumerate(lines, start=1):
            items.write(row, 0, line.partner_id.display_name or _("Unknown customer"))
            items.write(row, 1, line.move_id.name)
            items.write_datetime(row, 2, fields.Datetime.to_datetime(line.invoice_date), day)
            items.write_datetime(row, 3, fields.Datetime.to_datetime(line.date_maturity), day)
            items.write_number(row, 4, line.days_overdue)
            items.write(row, 5, line.bucket_id.name)
            line_currency = line.line_currency_id or currency
            items.write_number(row, 6, line_currency.round(line.amount_currency))
            items.write(row, 7, line_currency.name)
            items.write_number(row, 8, currency.round(line.amount), money)
        items.set_column(0, 1, 28)
        items.set_column(2, 8, 14)
        items.freeze_panes(1, 0)
        workbook.close()
        return output.getvalue()


class CollectionAgedReceivableBucket(models.TransientModel):
    _name = "collection.aged.receivable.bucket"
    _description = "Aged Receivables Bucket"
    _order = "sequence"

    report_id = fields.Many2one("collection.aged.receivable", required=True, ondelete="cascade")
    sequence = fields.Integer()
    name = fields.Char(required=True)
    low = fields.Integer(string="From Day", help="The first day past due of the bucket (0: not due yet).")


class CollectionAgedReceivableLine(models.TransientModel):
    _name = "collection.aged.receivable.line"
    _description = "Aged Receivables Item"
    _order = "partner_id, date_maturity, id"

    report_id = fields.Many2one("collection.aged.receivable", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Customer")
    move_id = fields.Many2one("account.move", string="Document")
    move_line_id = fields.Many2one("account.move.line", string="Journal Item")
    invoice_date = fields.Date()
    date_maturity = fields.Date(string="Due Date")
    days_overdue = fields.Integer(aggregator="max")
    bucket_id = fields.Many2one("collection.aged.receivable.bucket", string="Bucket")
    amount = fields.Monetary(string="Open Amount", help="Open on the report's date, in the company's currency.")
    line_currency_id = fields.Many2one("res.currency", string="Document Currency")
    amount_currency = fields.Monetary(
        string="Open in Document Currency", currency_field="line_currency_id", aggregator=False
    )

    def action_open_document(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "views": [(False, "form")],
            "target": "current",
        }
