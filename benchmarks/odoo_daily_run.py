"""Time the addon's daily run on generated receivables, and count its SQL queries.

Run it with Odoo's Python (Odoo 18 at ~/odoo18, PostgreSQL running, this checkout installed in
Odoo's venv):

    ~/odoo18/venv/bin/python benchmarks/odoo_daily_run.py --customers 200 --invoices 2000

The generated database is kept as a template (``createdb -T``) so the slow part - creating,
posting and paying invoices through the ORM - is done once per size; ``--rebuild`` makes it again.
About 70% of the invoices are paid, 10% partly paid, 20% left open (overdue 1-400 days); a quarter
use a two-instalment payment term. Before measuring, the copy gets what a company sets up first: an
email address and a default collector. Data files changed since the template was built (templates,
default levels: ``noupdate``) need ``--rebuild``. Prints the figures, or JSON with ``--format json``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as time_of_day
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ODOO_HOME = Path(os.environ.get("ODOO18_HOME") or Path.home() / "odoo18")
AS_OF = date(2026, 11, 24)


EXTRA_ADDONS: list[str] = []  # OCA's account_credit_control, when compared


def addons_path() -> str:
    """Odoo's addons, this repository's, and OCA's when compared."""
    return ",".join(
        [
            str(ODOO_HOME / "src" / "odoo" / "addons"),
            str(ODOO_HOME / "src" / "addons"),
            str(REPO / "odoo_addon_collections"),
            *EXTRA_ADDONS,
        ]
    )


def database_exists(name: str) -> bool:
    """Tell whether a PostgreSQL database exists."""
    result = subprocess.run(
        ["psql", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'", "postgres"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip() == "1"


_CONFIGURED: list[bool] = []


def odoo_env(database: str):  # type: ignore[no-untyped-def]
    """Open an Odoo registry on the database and return (registry, module odoo)."""
    sys.path.insert(0, str(ODOO_HOME / "src"))
    import odoo
    from odoo.modules.registry import Registry

    if not _CONFIGURED:  # Odoo's configuration can be parsed once per process
        odoo.tools.config.parse_config(["--addons-path", addons_path(), "--log-level", "warn"])
        _CONFIGURED.append(True)
    return Registry(database), odoo


def build_template(template: str, customers: int, invoices: int, seed: int) -> float:
    """Create the template database: install the addon, generate partners, invoices and payments."""
    started = time.perf_counter()
    subprocess.run(["dropdb", "--if-exists", template], check=True)
    subprocess.run(
        [
            str(ODOO_HOME / "venv" / "bin" / "python"),
            str(ODOO_HOME / "src" / "odoo-bin"),
            f"--addons-path={addons_path()}",
            "-d",
            template,
            "-i",
            "account_collections",
            "--stop-after-init",
            "--without-demo=all",
            "--log-level=warn",
        ],
        check=True,
        capture_output=True,
    )
    registry, odoo = odoo_env(template)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        generate(env, customers, invoices, random.Random(seed))
        cr.commit()
    odoo.sql_db.close_db(template)  # a template must have no open connection to be copied
    return time.perf_counter() - started


def update_addon(database: str) -> None:
    """Bring account_collections in a database to this checkout's code (``--rebuild`` for its data).

    Templates and default levels are ``noupdate`` (a company's edits survive an upgrade), so a
    change to them needs a template built anew.
    """
    subprocess.run(
        [str(ODOO_HOME / "venv" / "bin" / "python"), str(ODOO_HOME / "src" / "odoo-bin"),
         f"--addons-path={addons_path()}", "-d", database, "-u", "account_collections",
         "--stop-after-init", "--log-level=warn"],
        check=True, capture_output=True,
    )


def generate(env, customers: int, invoices: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Partners with emails, posted invoices over 18 months, and the payments of most of them."""
    company = env.company
    if not env["account.account"].search([("account_type", "=", "asset_receivable")], limit=1):
        env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
    split = env["account.payment.term"].create(
        {
            "name": "50% 30 days, 50% 60 days",
            "line_ids": [
                (0, 0, {"value": "percent", "value_amount": 50.0, "nb_days": 30}),
                (0, 0, {"value": "percent", "value_amount": 50.0, "nb_days": 60}),
            ],
        }
    )
    thirty = env.ref("account.account_payment_term_30days")
    partners = env["res.partner"].create(
        [
            {"name": f"Bench Customer {n}", "email": f"ap{n}@example.com", "phone": f"+3460000{n:04d}"}
            for n in range(customers)
        ]
    )
    product_account = env["account.account"].search([("account_type", "=", "income")], limit=1)
    journal = env["account.journal"].search([("type", "=", "bank"), ("company_id", "=", company.id)], limit=1)
    for start in range(0, invoices, CHUNK):
        moves = env["account.move"].create(
            [invoice_values(partners[n % customers], split if n % 4 == 0 else thirty, product_account, rng)
             for n in range(start, min(invoices, start + CHUNK))]
        )
        moves.action_post()
        pay_in_batch(env, moves, journal, rng)
        env.flush_all()
        env.invalidate_all()


CHUNK = 500


def invoice_values(partner, term, account, rng: random.Random) -> dict:  # type: ignore[no-untyped-def]
    """One customer invoice issued in the last 18 months."""
    return {
        "move_type": "out_invoice",
        "partner_id": partner.id,
        "invoice_date": AS_OF - timedelta(days=rng.randint(1, 540)),
        "invoice_payment_term_id": term.id,
        "invoice_line_ids": [
            (0, 0, {"name": "Service", "price_unit": rng.randint(100, 5000), "account_id": account.id, "tax_ids": []})
        ],
    }


def pay_in_batch(env, moves, journal, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """Pay 70% of the invoices in full and 10% in part: payments created, posted and reconciled in batches.

    The payment wizard does the same per invoice and is about thirty times slower at this size.
    """
    paid, values = [], []
    for move in moves:
        roll = rng.random()
        if roll < 0.2:
            continue
        amount = move.amount_total if roll >= 0.3 else round(move.amount_total * 0.4, 2)
        paid_on = min(AS_OF, move.invoice_date_due + timedelta(days=rng.randint(-10, 60)))
        paid.append(move)
        values.append(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": move.commercial_partner_id.id,
                "amount": amount,
                "date": paid_on,
                "journal_id": journal.id,
            }
        )
    payments = env["account.payment"].create(values)
    payments.action_post()
    receivable = [("account_type", "=", "asset_receivable"), ("reconciled", "=", False)]
    env["account.move.line"]._reconcile_plan(
        [
            (payment.move_id.line_ids + move.line_ids).filtered_domain(receivable)
            for payment, move in zip(payments, paid)
        ]
    )


def configure_collections(env) -> None:  # type: ignore[no-untyped-def]
    """What a company sets up before its first run: a sender address and a default collector."""
    company = env.company
    company.email = company.email or "ar@bench.example.com"
    collector = env["res.users"].create({
        "name": "Bench Collector",
        "login": "bench_collector",
        "email": "collector@bench.example.com",
        "groups_id": [(6, 0, [env.ref("account_collections.group_collection_user").id])],
    })
    company.collection_default_user_id = collector
    env.flush_all()


def measure(database: str) -> dict[str, float | int]:
    """Run the daily run once (first run) and once more (same day); time planning and sending apart."""
    registry, odoo = odoo_env(database)
    figures: dict[str, float | int] = {}
    from unittest.mock import patch

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        run_model = type(env["collection.run"])
        send = run_model._execute_due_actions
        sending: dict[str, float] = {}

        def timed_send(self, company, as_of, batch_size=50):  # type: ignore[no-untyped-def]
            before, started = cr.sql_log_count, time.perf_counter()
            sent = send(self, company, as_of, batch_size)
            sending.update(s=time.perf_counter() - started, queries=cr.sql_log_count - before, actions=sent)
            return sent

        configure_collections(env)
        as_of = datetime.combine(AS_OF, time_of_day(10), timezone.utc)
        for label in ("first_run", "second_run"):
            before = cr.sql_log_count
            started = time.perf_counter()
            with patch.object(cr, "commit", lambda: None), patch.object(run_model, "_execute_due_actions", timed_send):
                customers = env["collection.run"]._run_company(env.company, as_of=as_of)
            total, queries = time.perf_counter() - started, cr.sql_log_count - before
            figures[f"{label}_s"] = round(total, 2)
            figures[f"{label}_queries"] = queries
            figures[f"{label}_planning_s"] = round(total - sending["s"], 2)
            figures[f"{label}_planning_queries"] = queries - int(sending["queries"])
            figures[f"{label}_actions_sent"] = int(sending["actions"])
            figures[f"{label}_sending_s"] = round(sending["s"], 2)
            figures[f"{label}_sending_queries"] = int(sending["queries"])
            figures["customers_planned"] = customers
        figures["cases"] = env["collection.case"].search_count([])
        figures["actions"] = env["collection.action"].search_count([])
        cr.rollback()
    odoo.sql_db.close_db(database)
    return figures


def measure_oca(template: str, database: str) -> dict[str, float | int]:
    """OCA account_credit_control 18.0 generating its credit lines on the same data (its 3-level policy)."""
    subprocess.run(["dropdb", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-T", template, database], check=True)
    subprocess.run(
        [str(ODOO_HOME / "venv" / "bin" / "python"), str(ODOO_HOME / "src" / "odoo-bin"),
         f"--addons-path={addons_path()}", "-d", database, "-i", "account_credit_control",
         "--stop-after-init", "--without-demo=all", "--log-level=warn"],
        check=True, capture_output=True,
    )
    registry, odoo = odoo_env(database)
    figures: dict[str, float | int] = {}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        policy = env.ref("account_credit_control.credit_control_3_time")
        policy.account_ids = env["account.account"].search([("account_type", "=", "asset_receivable")])
        env.flush_all()
        before, started = cr.sql_log_count, time.perf_counter()
        run = env["credit.control.run"].create({"date": AS_OF, "policy_ids": [(6, 0, policy.ids)]})
        run.generate_credit_lines()
        env.flush_all()
        figures["oca_generate_lines_s"] = round(time.perf_counter() - started, 2)
        figures["oca_generate_lines_queries"] = cr.sql_log_count - before
        figures["oca_credit_lines"] = len(run.line_ids)
        cr.rollback()
    odoo.sql_db.close_db(database)
    subprocess.run(["dropdb", "--if-exists", database], check=False)
    return figures


from figures import print_figures  # noqa: E402  (a sibling module: the script's folder is on the path)


def main() -> int:
    """Build (or reuse) the template, copy it, time the daily run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--compare-oca",
        metavar="ADDONS_DIR",
        help="an addons folder holding OCA's account_credit_control 18.0 (unzip its PyPI wheel's odoo/addons)",
    )
    args = parser.parse_args()
    if args.compare_oca:
        EXTRA_ADDONS.append(str(Path(args.compare_oca).expanduser().resolve()))
    template = f"bench_collections_tpl_{args.customers}_{args.invoices}"
    database = f"bench_collections_{args.customers}_{args.invoices}"
    built = None
    if args.rebuild or not database_exists(template):
        built = round(build_template(template, args.customers, args.invoices, args.seed), 1)
    subprocess.run(["dropdb", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-T", template, database], check=True)
    update_addon(database)  # the template may predate the checkout's code
    figures = {"customers": args.customers, "invoices": args.invoices, "template_build_s": built, **measure(database)}
    subprocess.run(["dropdb", "--if-exists", database], check=False)
    if args.compare_oca:
        figures.update(measure_oca(template, f"{database}_oca"))
        figures["planning_vs_oca_time_ratio"] = round(
            float(figures["first_run_planning_s"]) / float(figures["oca_generate_lines_s"]), 2
        )
    print_figures(figures, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
