"""The statement of account of collection cases, read from the ledger and rendered for customers.

Every channel (email, SMS, letter, call task, portal) and the case's amounts use
``collection.statement``: the receivable lines of the customer as they stand now, turned into
engine items and given to ``collections_engine.build_statement``. Customers read amounts in
each invoice's own currency; the case keeps the company-currency figures of the same lines.
"""

import copy
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from collections_engine import ReceivableItem, build_statement
from collections_engine.engine import local_today
from collections_engine.money import round_money
from collections_engine.statement import StatementLine, amount_asked

from odoo import api, models
from odoo.tools.misc import format_amount, format_date

PRE_DUE, OVERDUE, THANK_YOU = "pre_due", "overdue", "thank_you"
PLAN_PRE_DUE, PLAN_OVERDUE = "plan_pre_due", "plan_overdue"  # a payment plan's instalment, before and after due
STATEMENT = "statement"  # a statement of account sent on demand or every month (not a reminder)
# The open receivable lines of a company (parameter ``company``), their accounts and moves.
OPEN_RECEIVABLE_LINES = """
      FROM account_move_line line
      JOIN account_account account ON account.id = line.account_id
      JOIN account_move move ON move.id = line.move_id
     WHERE line.company_id = %(company)s
       AND line.parent_state = 'posted'
       AND account.account_type = 'asset_receivable'
       AND NOT line.reconciled
       AND line.amount_residual != 0
"""
_KINDS = {"out_invoice": "invoice", "out_receipt": "invoice", "out_refund": "credit_note"}
# What a customer can pay online: anything open but disputed items and credits.
PAYABLE_SECTIONS = ("overdue", "upcoming", "arranged")
PAY_KINDS = ("overdue", "lines", "plan")


class PaymentSelectionError(ValueError):
    """What the customer chose cannot be paid; ``code`` names the message the portal shows."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PaymentSelection:
    """What one online payment settles, read from the statement the customer sees.

    ``lines`` are paid oldest due date first; ``credits`` (credits deducted: ``credits="net"``)
    are applied to them before the payment; ``amount`` is what the customer pays.
    """

    kind: str
    currency: str
    lines: tuple[StatementLine, ...]
    credits: tuple[StatementLine, ...]
    amount: Decimal
    installment_id: int = 0

    @property
    def key(self):
        """The selection as one URL path segment: ``overdue.EUR``, ``lines.EUR.12-15``, ``plan.EUR``."""
        ids = "-".join(line.item_id for line in self.lines) if self.kind == "lines" else ""
        return ".".join(part for part in (self.kind, self.currency, ids) if part)

    @property
    def line_ids(self):
        return [int(line.item_id) for line in self.lines]

    @property
    def credit_line_ids(self):
        return [int(line.item_id) for line in self.credits]


def parse_selection_key(key):
    """``(kind, currency, item ids)`` of a :attr:`PaymentSelection.key`; ``None`` when malformed."""
    parts = (key or "").split(".")
    if len(parts) not in (2, 3) or parts[0] not in PAY_KINDS or not parts[1].isalpha():
        return None
    ids = parts[2].split("-") if len(parts) == 3 else []
    if any(not item.isdigit() for item in ids) or (parts[0] == "lines") != bool(ids):
        return None
    return parts[0], parts[1], ids


def receivable_item(line_id, partner_id, name, currency, amount, residual, issued, due, blocked, **extra):
    """The engine item of one receivable line: a credit when its amount is negative, open only while its
    residual has the amount's sign (amounts in one currency, signed as the ledger stores them)."""
    amount, residual = Decimal(str(amount)), Decimal(str(residual))
    credit = extra.pop("is_credit", amount < 0)
    return ReceivableItem(
        id=str(line_id),
        customer_id=str(partner_id),
        invoice_ref=name or str(line_id),
        currency=currency,
        amount=abs(amount),
        residual=abs(residual) if residual and (residual < 0) == credit else Decimal(0),
        issue_date=min(issued, due),
        due_date=due,
        disputed=bool(blocked),
        is_credit=credit,
        **extra,
    )


class CollectionStatement(models.AbstractModel):
    _name = "collection.statement"
    _description = "Collections Statement of Account"

    # ------------------------------------------------------------
    # READING
    # ------------------------------------------------------------

    @api.model
    def _read_rows(self, company, partner_ids):
        """Open receivable lines of the customers, with the settled instalments of the same invoices.

        One query for any number of customers; the settled instalments only number the open ones.
        """
        if not partner_ids:
            return {}
        self.env.flush_all()
        self.env.cr.execute(
            f"""
            WITH open_moves AS (
                SELECT DISTINCT line.move_id
                {OPEN_RECEIVABLE_LINES}
                   AND move.commercial_partner_id IN %(partners)s
            )
            SELECT line.id, move.commercial_partner_id, move.id, move.name, move.move_type,
                   move.payment_state = 'blocked', move.origin_payment_id IS NOT NULL,
                   COALESCE(move.invoice_date, line.date), COALESCE(line.date_maturity, line.date),
                   currency.name, line.amount_currency, line.amount_residual_currency,
                   line.balance, line.amount_residual, line.reconciled
              FROM account_move_line line
              JOIN open_moves ON open_moves.move_id = line.move_id
              JOIN account_account account ON account.id = line.account_id
              JOIN account_move move ON move.id = line.move_id
              JOIN res_currency currency ON currency.id = line.currency_id
             WHERE account.account_type = 'asset_receivable'
               AND line.company_id = %(company)s
             ORDER BY line.id
            """,
            {"company": company.id, "partners": tuple(partner_ids)},
        )
        rows = {}
        for row in self.env.cr.fetchall():
            rows.setdefault(row[1], []).append(row)
        return rows

    @api.model
    def _items(self, rows, company_currency=None):
        """Engine items of the rows: in each line's currency, or in the company's when it is given."""
        items = []
        for (
            line_id,
            partner_id,
            _move_id,
            name,
            move_type,
            blocked,
            from_payment,
            issued,
            due,
            currency,
            amount_currency,
            residual_currency,
            balance,
            residual,
            reconciled,
        ) in rows:
            credit = (balance if balance else amount_currency) < 0  # the ledger's sign, whatever the currency
            kind = _KINDS.get(move_type) or (
                "payment" if credit and from_payment else "credit_note" if credit else "invoice"
            )
            if company_currency:
                amount, open_amount, currency = balance, residual, company_currency
            else:
                amount, open_amount = amount_currency, residual_currency
            items.append(
                receivable_item(
                    line_id,
                    partner_id,
                    name,
                    currency,
                    amount,
                    0 if reconciled else open_amount,
                    issued,
                    due,
                    blocked,
                    is_credit=credit,
                    kind=kind,
                )
            )
        return items

    @api.model
    def _ensure_access_tokens(self, move_ids):
        """Give every move a portal access token in one statement (pay links are signed with it).

        ``portal.mixin`` writes a missing token on first use, through ``account.move.write``, which
        costs about 40 ms per invoice; a reminder batch would pay it for every invoice it links.
        """
        if not move_ids:
            return
        self.env.cr.execute(
            "UPDATE account_move SET access_token = gen_random_uuid()::text"
            " WHERE id IN %s AND access_token IS NULL RETURNING id",
            [tuple(set(move_ids))],
        )
        updated = [row[0] for row in self.env.cr.fetchall()]
        if updated:
            self.env["account.move"].browse(updated).invalidate_recordset(["access_token"])

    @api.model
    def _arranged_line_ids(self, case):
        """Items of the case under a pending promise or an active payment plan (None: all of them)."""
        arranged = set()
        promises = case.promise_ids.filtered(lambda p: p.status == "pending" and not p.cancelled)
        plans = case.plan_ids.filtered(lambda p: p.status in ("good_standing", "late") and not p.cancelled)
        for record in [*promises, *plans]:
            if not record.move_line_ids:
                return None
            arranged.update(str(line_id) for line_id in record.move_line_ids.ids)
        return arranged

    # ------------------------------------------------------------
    # STATEMENTS
    # ------------------------------------------------------------

    @api.model
    def _today(self, company, when=None, policy=None):
        """The day items age against: ``when`` (default now) in the company's collections timezone."""
        when = when or datetime.now(timezone.utc)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return local_today(policy or self.env["collection.run"]._policy(company), when)

    @api.model
    def _for_cases(self, cases, when=None, actions=None, purpose=None, links=False):
        """Return ``{case id: StatementDocument}`` for the cases, read from the ledger now (one query).

        ``links``: the documents will print pay links (their invoices get portal tokens at once).
        """
        action_of = {action.case_id.id: action for action in actions or ()}
        pairs = [(case, action_of.get(case.id)) for case in cases]
        documents = self._documents(pairs, when, purpose, links)
        return {case.id: document for (case, _action), document in zip(pairs, documents, strict=False)}

    @api.model
    def _for_actions(self, actions, when=None):
        """Return ``{action id: StatementDocument}``: each action's statement, read from the ledger now."""
        pairs = [(action.case_id, action) for action in actions]
        documents = self._documents(pairs, when, links=True)
        return {action.id: document for (_case, action), document in zip(pairs, documents, strict=False)}

    @api.model
    def _documents(self, pairs, when=None, purpose=None, links=False):
        """The statement of each (case, action or None) pair; one ledger query per company."""
        documents = []
        by_company = {}
        for case, _action in pairs:
            by_company.setdefault(case.company_id, self.env["collection.case"])
            by_company[case.company_id] |= case
        context = {}
        currencies = {}  # ISO code -> res.currency, shared by the documents
        for company, cases in by_company.items():
            policy = self.env["collection.run"]._policy(company)
            rows = self._read_rows(company, cases.partner_id.commercial_partner_id.ids)
            if links:
                self._ensure_access_tokens(
                    [
                        row[2]
                        for partner_rows in rows.values()
                        for row in partner_rows
                        if row[4] in ("out_invoice", "out_receipt")
                    ]
                )
            context[company] = (policy, self._today(company, when, policy), rows)
        # one prefetch group for every move of the documents: their fields are read in one query
        all_moves = self.env["account.move"].browse(
            sorted(
                {
                    row[2]
                    for _policy, _today, rows in context.values()
                    for partner_rows in rows.values()
                    for row in partner_rows
                }
            )
        )
        for case, action in pairs:
            policy, today, rows = context[case.company_id]
            partner_rows = rows.get(case.partner_id.commercial_partner_id.id, [])
            arranged = self._arranged_line_ids(case)
            if arranged is None:
                arranged = {str(row[0]) for row in partner_rows}
            reminded = {str(line_id) for line_id in action.move_line_ids.ids} if action else set()
            build = {
                "arranged_item_ids": arranged,
                "reminded_item_ids": reminded,
                "credits_mode": policy.statement.credits,
            }
            customer_id = str(case.partner_id.commercial_partner_id.id)
            statement = build_statement(customer_id, self._items(partner_rows), today, **build)
            in_company = build_statement(
                customer_id, self._items(partner_rows, case.company_id.currency_id.name), today, **build
            )
            documents.append(
                StatementDocument(
                    self.env,
                    case,
                    statement,
                    in_company,
                    {str(row[0]): row[2] for row in partner_rows},
                    action=action,
                    purpose=purpose or _purpose(action),
                    currencies=currencies,
                    moves=all_moves,
                )
            )
        return documents


def _purpose(action):
    if action and action.level_key in (THANK_YOU, PLAN_PRE_DUE, PLAN_OVERDUE, STATEMENT):
        return action.level_key
    if action and action.level_id and action.level_id.delay_days < 0:
        return PRE_DUE
    return OVERDUE


class StatementDocument:
    """A case's statement as its customer reads it: lines, totals, recipients, in the customer's language.

    Templates (mail, SMS, letter, portal, call task) receive it as ``statement`` and print its
    values; they compute no amount of their own.
    """

    def __init__(
        self,
        env,
        case,
        statement,
        company_statement,
        move_ids,
        action=None,
        purpose=OVERDUE,
        currencies=None,
        moves=None,
    ):
        self.case = case
        self.action = action
        self.purpose = purpose
        self.statement = statement
        self.company_statement = company_statement
        self.recipient, self.cc = case.partner_id._collection_recipients()
        self.addressee = case.partner_id._collection_addressee()
        self.lang = self.recipient.lang or case.partner_id.lang or env.lang or "en_US"
        self.env = env(context=dict(env.context, lang=self.lang))
        self._move_ids = move_ids  # statement line (item id) -> move id
        self._moves = moves if moves is not None else self.env["account.move"].browse(sorted(set(move_ids.values())))
        self._currencies = currencies if currencies is not None else {}
        self._pay_urls = {}
        self._transfers = None
        self._portal_link = ""
        self.today = statement.as_of

    def with_lang(self, lang):
        """The same statement for another reader: a collector, or a portal user, in their language."""
        if not lang or lang == self.lang:
            return self
        other = copy.copy(self)
        other.lang = lang
        other.env = self.env(context=dict(self.env.context, lang=lang))
        other._pay_urls = self._pay_urls
        return other

    # -- lookups -----------------------------------------------------------------

    def currency(self, code):
        """The res.currency record of an ISO code."""
        if code not in self._currencies:
            self._currencies[code] = (
                self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)], limit=1)
            )
        return self._currencies[code]

    def move(self, line):
        """The journal entry (invoice, credit note, payment) of a statement line."""
        move_id = self._move_ids.get(line.item_id)
        return self._moves.browse(move_id).with_prefetch(self._moves._prefetch_ids) if move_id else self._moves[:0]

    # -- formatting ---------------------------------------------------------------

    def amount(self, value, currency_code):
        """An amount as the customer reads it (symbol, separators of their language)."""
        return format_amount(self.env, float(value), self.currency(currency_code), lang_code=self.lang)

    def date(self, value):
        return format_date(self.env, value, lang_code=self.lang)

    def amounts(self, attribute):
        """One amount per currency, joined: '1,200.00 EUR and 300.00 USD'."""
        parts = [self.amount(getattr(t, attribute), t.currency) for t in self.statement.totals if getattr(t, attribute)]
        if not parts:
            company = self.case.company_id.currency_id
            return format_amount(self.env, 0.0, company, lang_code=self.lang)
        return self.env._(" and ").join(parts) if len(parts) <= 2 else ", ".join(parts)

    def installment(self, line):
        """'instalment 2 of 3' for an invoice with several instalments, else ''."""
        if not line.installments:
            return ""
        return self.env._("instalment %(number)s of %(count)s", number=line.installment, count=line.installments)

    def pay_url(self, line):
        """The portal page where this invoice can be paid (signed link), for invoices only."""
        if line.item_id not in self._pay_urls:
            move = self.move(line)
            payable = line.kind == "invoice" and line.section in ("overdue", "upcoming") and move
            self._pay_urls[line.item_id] = move.get_base_url() + move.get_portal_url() if payable else ""
        return self._pay_urls[line.item_id]

    def bank_transfers(self):
        """How to pay each currency asked by bank transfer: the company's account for it, the amount (the
        statement's amount due, or what comes due for a pre-due reminder), the reference to quote and a
        payment QR code where Odoo makes one; currencies without a receiving account are left out."""
        if self._transfers is None:
            asked = "upcoming" if self.purpose == PRE_DUE else "amount_due"
            lines = self.upcoming if self.purpose == PRE_DUE else self.overdue
            details = self.env["collection.bank.details"]
            partner = self.case.partner_id.commercial_partner_id
            transfers = []
            for total in self.totals:
                amount = float(getattr(total, asked))
                moves = self.env["account.move"]
                for line in lines:
                    if line.currency == total.currency and line.kind == "invoice":
                        moves |= self.move(line)
                if amount > 0 and moves:
                    transfer = details._transfer(
                        self.case.company_id, partner, self.currency(total.currency), amount, moves
                    )
                    if transfer:
                        transfers.append(transfer)
            self._transfers = transfers
        return self._transfers

    def payable(self, line):
        """Whether the customer can pay this line online (not disputed, not a credit)."""
        return line.section in PAYABLE_SECTIONS

    @property
    def payable_lines(self):
        return tuple(line for line in self.statement.lines if self.payable(line))

    def selection(self, kind, currency=None, item_ids=()):
        """What one online payment of ``kind`` settles and its amount, from this statement's lines.

        ``overdue``: every overdue line of ``currency``, for the amount due the statement shows;
        ``lines``: the chosen payable lines (one currency); ``plan``: the next instalment of the
        active payment plan, applied to the plan's items. Credits are applied as the statement
        shows them: deducted (``net``) from ``overdue`` and ``lines``, never from a plan instalment
        (its amounts were agreed on the balance). Raises :class:`PaymentSelectionError`.
        """
        env = self.env
        if kind == "plan":
            return self._plan_selection()
        if kind == "lines":
            wanted = {str(item_id) for item_id in item_ids}
            lines = tuple(line for line in self.statement.lines if line.item_id in wanted)
            if len(lines) != len(wanted):  # not this customer's open items: nothing to say about them
                raise PaymentSelectionError("unknown", env._("These items are not on your statement."))
            if not lines or not all(self.payable(line) for line in lines):
                raise PaymentSelectionError("pay_lines", env._("Choose at least one open item that is not disputed."))
            currencies = {line.currency for line in lines}
            if len(currencies) > 1:
                raise PaymentSelectionError("pay_currency", env._("Choose items of one currency for each payment."))
            currency = currencies.pop()
        elif kind == "overdue":
            lines = tuple(line for line in self.overdue if line.currency == currency)
        else:
            raise PaymentSelectionError("pay_lines", env._("Choose at least one open item that is not disputed."))
        applied = tuple(line for line in self.credits if line.currency == currency) if self.credits_netted else ()
        totals = self.statement.totals_for(currency)
        if kind == "overdue":
            amount = totals.amount_due  # exactly the amount due the customer reads
        else:
            amount = amount_asked(
                round_money(sum((line.residual for line in lines), Decimal(0)), currency),
                totals.credits,
                self.statement.credits_mode,
            )
        if amount <= 0:
            raise PaymentSelectionError(
                "pay_nothing", env._("There is nothing to pay: your credits cover these items.")
            )
        return PaymentSelection(kind, currency, lines, applied, amount)

    def _plan_selection(self):
        env = self.env
        plan = self.case.plan_ids.filtered(
            lambda p: p.status in ("good_standing", "late") and not p.cancelled and p.approval_state == "accepted"
        )[:1]
        installment = plan.installment_ids.filtered(lambda i: i.status != "paid").sorted(
            lambda i: (i.due_date, i.sequence)
        )[:1]
        currency = plan.currency_id.name
        covered = {str(line_id) for line_id in plan.move_line_ids.ids}
        lines = tuple(
            line for line in self.arranged if line.currency == currency and (not covered or line.item_id in covered)
        )
        if not installment or not lines:
            raise PaymentSelectionError("pay_plan", env._("There is no instalment of a payment plan to pay."))
        left = Decimal(str(installment.amount)) - Decimal(str(installment.paid))
        owed = sum((line.residual for line in lines), Decimal(0))
        amount = round_money(min(left, owed), currency)
        if amount <= 0:
            raise PaymentSelectionError("pay_plan", env._("There is no instalment of a payment plan to pay."))
        return PaymentSelection("plan", currency, lines, (), amount, installment_id=installment.id)

    def pay_all_options(self):
        """``[(currency, amount text)]``: the 'pay all overdue' offers, one per currency with an amount due."""
        return [(t.currency, self.amount(t.amount_due, t.currency)) for t in self.totals if t.amount_due > 0]

    def next_installment(self):
        """The plan instalment the customer can pay now (a selection), or None."""
        try:
            return self._plan_selection()
        except PaymentSelectionError:
            return None

    @property
    def portal_link(self):
        """The signed, expiring link to the customer's Payments Due page (reminders, SMS, letters)."""
        if not self._portal_link:
            self._portal_link = self.case._collection_link()
        return self._portal_link

    def link_message(self):
        """One line a collector can send as it is (WhatsApp): what is due and the customer's link."""
        return self.env._(
            "%(company)s: amount due %(amount)s. See your statement and pay online: %(link)s",
            company=self.case.company_id.name,
            amount=self.amount_due_text.replace("\xa0", " "),
            link=self.portal_link,
        )

    def disputable_moves(self):
        """Invoices the customer can still dispute: open, not disputed, not credits."""
        moves = self.env["account.move"]
        for line in self.overdue + self.upcoming + self.arranged:
            if line.kind == "invoice":
                moves |= self.move(line)
        return moves

    def plan_installment(self):
        """The payment plan instalment an instalment reminder is about: (number, count, due date, amount left).

        Figures of the plan's schedule as the engine allocated the customer's payments (the daily run
        writes them); the amount left is the instalment less what was allocated to it.
        """
        installment = self.action.plan_installment_id if self.action else None
        if not installment:
            return None
        plan = installment.plan_id
        return {
            "number": installment.sequence,
            "count": len(plan.installment_ids.filtered("sequence")),
            "down_payment": not installment.sequence,
            "due_date": self.date(installment.due_date),
            "amount": self.amount(installment.amount - installment.paid, plan.currency_id.name),
        }

    def is_late_fee(self, line):
        """Whether the line is a late fee invoice posted by the daily run (it reads "Late fee")."""
        return bool(self.move(line).collection_is_fee)

    def kind_label(self, line):
        labels = {
            "invoice": self.env._("Invoice"),
            "credit_note": self.env._("Credit note"),
            "payment": self.env._("Payment not yet applied"),
        }
        return labels.get(line.kind, line.kind)

    # -- sections and totals --------------------------------------------------------

    @property
    def overdue(self):
        return self.statement.section("overdue")

    @property
    def arranged(self):
        return self.statement.section("arranged")

    @property
    def disputed(self):
        return self.statement.section("disputed")

    @property
    def upcoming(self):
        return self.statement.section("upcoming")

    @property
    def credits(self):
        return self.statement.section("credit")

    @property
    def totals(self):
        return self.statement.totals

    @property
    def amount_due_text(self):
        return self.amounts("amount_due")

    @property
    def balance_text(self):
        """The balance of the account: everything open (due or not, disputed, arranged) less the credits."""
        return self.amounts("balance")

    @property
    def upcoming_text(self):
        return self.amounts("upcoming")

    @property
    def credits_netted(self):
        return self.statement.credits_mode == "net"

    @property
    def has_amount_due(self):
        return self.statement.has_amount_due

    @property
    def oldest_days_overdue(self):
        return self.statement.oldest_days_overdue

    @property
    def amount_due(self):
        """What is asked, in the company currency (the action and the case record it)."""
        return float(self.company_statement.totals_for(self.case.company_id.currency_id.name).amount_due)

    def case_values(self):
        """The case's amounts, from the same statement (company currency)."""
        return case_amounts(self.company_statement, self.case.company_id.currency_id.name)

    def summary(self):
        """Plain text for an SMS or a call task: what is asked, how many items, what is credited or disputed."""
        env = self.env
        parts = [
            env._(
                "Amount due: %(amount)s; overdue items: %(count)s, the oldest %(days)s days overdue.",
                amount=self.amount_due_text,
                count=len(self.overdue),
                days=self.oldest_days_overdue,
            )
        ]
        if self.credits:
            parts.append(
                env._(
                    "Credits: %(amount)s%(netted)s.",
                    amount=self.amounts("credits"),
                    netted=env._(" (deducted)") if self.credits_netted else "",
                )
            )
        if self.disputed:
            parts.append(env._("Under review (not asked): %(amount)s.", amount=self.amounts("disputed")))
        if self.arranged:
            parts.append(env._("Under a promise or payment plan: %(amount)s.", amount=self.amounts("arranged")))
        return " ".join(parts)

    def lines_text(self):
        """One line per item for a call task: reference, due date, days overdue, residual."""
        rows = []
        for line in self.overdue:
            rows.append(
                f"{line.invoice_ref} {self.installment(line)} · {self.date(line.due_date)} · "
                f"{line.days_overdue} · {self.amount(line.residual, line.currency)}"
            )
        return rows


def case_amounts(statement, company_currency):
    """The amounts a case shows, from its company-currency statement."""
    totals = statement.totals_for(company_currency)
    return {
        "open_amount": float(totals.balance),
        "overdue_amount": float(totals.overdue),
        "amount_due": float(totals.amount_due),
        "disputed_amount": float(totals.disputed),
        "arranged_amount": float(totals.arranged),
        "upcoming_amount": float(totals.upcoming),
        "credit_amount": float(totals.credits),
        "oldest_days_overdue": statement.oldest_days_overdue,
    }
