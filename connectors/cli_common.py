"""What every command shares: exit codes, failures, option parsing, the store, output helpers.

Exit codes: 0 success; 1 unexpected error; 2 usage error; 3 invalid policy; 4 some ledger rows or
platform records could not be loaded (with ``--strict``); 5 input error (a file that cannot be
read, an exchange rate missing, a store that cannot be opened, a ledger that would close too
many open items; a customer or an item the store does not hold); 6 not connected or authorization refused;
7 the platform or the network failed (retry later); 8 another run or worker holds the tenant; 9 the policy
refuses what was asked (a promise or a payment plan outside its limits).
"""

from __future__ import annotations

import hmac
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from collections_engine.defaults import default_policy
from collections_engine.errors import PolicyError
from collections_engine.policy import Policy, policy_from_json

from .common.errors import AuthorizationError, ConfigurationError, ConnectorError, LedgerError, LockedError
from .common.runtime import Runtime
from .common.serialize import to_jsonable
from .common.store import Store

EXIT_POLICY = 3
EXIT_BAD_ROWS = 4
EXIT_INPUT = 5
EXIT_AUTH = 6
EXIT_PLATFORM = 7
EXIT_LOCKED = 8
EXIT_REFUSED = 9
DEFAULT_TENANT_SETTING = "default_files_tenant"
"""The store setting that names the ledger of ``run --ledger`` without ``--tenant`` (set by the first run)."""
err_console = Console(stderr=True)


class CliFailure(click.ClickException):
    """An error that ends the command with a given exit code and a clear message."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; each failure here carries its own code
        setattr(self, "exit_code", exit_code)  # noqa: B010


def failure(err: ConnectorError) -> CliFailure:
    """The exit code that says why a command failed."""
    if isinstance(err, LedgerError):
        return CliFailure(str(err), EXIT_INPUT)
    if isinstance(err, (AuthorizationError, ConfigurationError)):
        return CliFailure(str(err), EXIT_AUTH)
    if isinstance(err, LockedError):
        return CliFailure(f"{err}: another run or worker is busy with this tenant, try again later", EXIT_LOCKED)
    return CliFailure(str(err), EXIT_PLATFORM)


# --------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------


def parse_as_of(value: str | None, default: datetime) -> datetime:
    """Parse ``--as-of``: a date (09:00 UTC that day) or an ISO datetime (UTC if naive)."""
    if not value:
        return default
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(9, 0), timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def now_utc() -> datetime:
    """This instant, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_rates(values: Sequence[str]) -> dict[str, Decimal]:
    """Parse ``--rate USD=0.92`` options (one unit of USD in the company currency)."""
    rates = {}
    for value in values:
        code, _, number = value.partition("=")
        try:
            rate = Decimal(number.strip())
        except InvalidOperation:
            rate = Decimal("NaN")
        if not re.fullmatch(r"[A-Za-z]{3}", code.strip()) or not rate.is_finite() or rate <= 0:
            raise click.BadParameter(f"--rate {value!r}: expected CODE=NUMBER with a positive number, e.g. USD=0.92")
        rates[code.strip().upper()] = rate
    return rates


def load_policy(path: Path | None) -> Policy:
    """Read a policy file, or return the default policy when no file is given."""
    if path is None:
        return default_policy()
    try:
        return policy_from_json(read_policy_text(path))
    except PolicyError as err:
        raise CliFailure(f"{path}: {err}", EXIT_POLICY) from err


def read_policy_text(path: Path) -> str:
    """The text of a policy file (UTF-8), or a CliFailure with exit code 5."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise CliFailure(f"cannot read policy {path}: {err.strerror}", EXIT_INPUT) from err
    except UnicodeDecodeError as err:
        raise CliFailure(f"{path}: the policy is not UTF-8 text (save it as UTF-8)", EXIT_INPUT) from err


def check_output_path(option: str, path: Path | None) -> None:
    """Refuse an output path that cannot be written, before anything runs."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CliFailure(f"{option} {path}: cannot write there (no such folder, or not writable)", EXIT_INPUT)


# --------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------


def open_runtime(ctx: click.Context) -> Runtime:
    """The store (migrated), locks and limits; a store that cannot be opened is an input error (exit 5)."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = ctx.obj.get("store_url") if ctx.obj else None
    try:
        return Runtime.from_env(store_url=url)
    except ArgumentError as err:
        raise CliFailure("--store: not a usable SQLAlchemy URL (e.g. sqlite:////path/to/store.db)", EXIT_INPUT) from err
    except (SQLAlchemyError, ImportError, OSError, CommandError, ConnectorError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0][:200]
        raise CliFailure(f"cannot open the store {_masked(url)}: {reason}", EXIT_INPUT) from err


def _masked(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url or Store.default_url()).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is not shown at all (it may hold a password)
        return "(--store)"


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def console() -> Console:
    """A console for tables: the terminal's width, or wide enough not to fold when piped."""
    return Console() if sys.stdout.isatty() else Console(width=200)


def echo_json(document: Any) -> None:
    """Print a document as the commands' --format json does: indented, dates and amounts as text, UTF-8 as is."""
    click.echo(json.dumps(to_jsonable(document), indent=2, ensure_ascii=False))


def print_payload(payload: dict[str, Any], output_format: str, headline: str) -> None:
    """Print a flat result as JSON or as a two-column table."""
    if output_format == "json":
        echo_json(payload)
        return
    table = Table(title=headline)
    table.add_column("")
    table.add_column("")
    for name, value in payload.items():
        table.add_row(str(name), json.dumps(to_jsonable(value)) if isinstance(value, (dict, list)) else str(value))
    console().print(table)


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[[str, int, int | None], None] | None]:
    """Yield a progress callback(what, done, total) drawing a bar on stderr (or None when disabled)."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(what: str, done: int, total: int | None) -> None:
            progress.update(task, description=f"{label}: {what}", completed=done, total=total)

        yield update


# --------------------------------------------------------------------------------------
# OAuth: the local redirect of `connect <platform>`
# --------------------------------------------------------------------------------------


def wait_for_callback(port: int, state: str, timeout: float, ready: Callable[[], None]) -> dict[str, str]:
    """Serve the OAuth redirect on 127.0.0.1:port once; check the state in constant time."""
    received: dict[str, str] = {}

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            good = hmac.compare_digest(query.get("state", ""), state) and "code" in query
            if good:
                received.update(query)
            self.send_response(200 if good else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            message = "Connected: you can close this window." if good else "Invalid or expired authorization."
            self.wfile.write(message.encode())

        def log_message(self, format: str, *args: Any) -> None:  # never log the code
            return

    server = HTTPServer(("127.0.0.1", port), Callback)
    server.timeout = timeout
    ready()
    try:
        server.handle_request()
    finally:
        server.server_close()
    if not received:
        raise AuthorizationError("no valid authorization came back (timed out, refused or a wrong state)")
    return received
