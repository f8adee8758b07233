#!/usr/bin/env python3
"""Regenerate the screenshots of the Odoo addon's main screens (docs/screenshots/*.png).

Installs the addon with its demo data in a new database, starts odoo-bin on a free port, opens
each screen in headless Chromium (driven over the DevTools protocol with websocket-client, as
Odoo's own test browser does) and saves a small PNG of it. Run it with Odoo's Python, from the
repository:

    ~/odoo18/venv/bin/python docs/screenshots.py [--odoo-home ~/odoo18] [--keep-db]

It needs PostgreSQL running, Chromium (Debian package ``chromium``) and, in that Python,
websocket-client and Pillow (Odoo requires Pillow). The engine is imported from this checkout.
The database is dropped at the end unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import base64
import http.cookiejar
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websocket  # websocket-client
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 860
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ACTION = "/odoo/action-account_collections.{}"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command, stopping the script with its output when it fails."""
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{' '.join(command[:3])} ... failed:\n{(result.stdout + result.stderr)[-4000:]}")


class Odoo:
    """odoo-bin with the addon on a database of its own, and JSON-RPC sessions on it."""

    def __init__(self, home: Path, database: str) -> None:
        self.home = home
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.engine = Path(tempfile.mkdtemp(prefix="screenshots-engine-"))
        (self.engine / "collections_engine").symlink_to(REPO / "collections_engine")  # this checkout's engine
        self.env = {**os.environ, "PYTHONPATH": f"{self.engine}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def command(self, *options: str) -> list[str]:
        addons = f"{self.home}/src/odoo/addons,{self.home}/src/addons,{REPO}/odoo_addon_collections"
        return [
            f"{self.home}/venv/bin/python",
            f"{self.home}/src/odoo-bin",
            f"--addons-path={addons}",
            "-d",
            self.database,
            *options,
        ]

    def install(self) -> None:
        """A new database with the addon and its demo data, in English (Spanish is added once it serves)."""
        subprocess.run(["dropdb", "--if-exists", self.database], check=True)
        run(self.command("-i", "account_collections", "--stop-after-init", "--no-http"), env=self.env)

    @contextmanager
    def serving(self) -> Iterator[None]:
        log = open(Path(tempfile.gettempdir()) / f"{self.database}.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            self.command("--http-interface=127.0.0.1", f"--http-port={self.port}", "--max-cron-threads=0"),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _attempt in range(120):
                try:
                    urllib.request.urlopen(f"{self.url}/web/login", timeout=5)
                    break
                except OSError:
                    time.sleep(1)
            else:
                sys.exit(f"odoo-bin did not answer on {self.url}; see {log.name}")
            yield
        finally:
            server.terminate()
            server.wait(30)
            log.close()

    def login(self, login: str, password: str) -> Session:
        session = Session(self.url)
        info = session.call("/web/session/authenticate", {"db": self.database, "login": login, "password": password})
        session.uid = info["uid"]
        return session


class Session:
    """A logged-in Odoo user over JSON-RPC: its cookie opens the same session in Chromium."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.uid = 0
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def call(self, route: str, params: dict[str, Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode()
        request = urllib.request.Request(self.url + route, body, {"Content-Type": "application/json"})
        answer = json.load(self.opener.open(request, timeout=60))
        if "error" in answer:
            sys.exit(f"{route}: {answer['error']['data']['message']}")
        return answer["result"]

    def model(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        return self.call("/web/dataset/call_kw", params)

    @property
    def session_id(self) -> str:
        return next(str(cookie.value) for cookie in self.cookies if cookie.name == "session_id")


class Chromium:
    """Headless Chromium on a page driven over the DevTools protocol."""

    def __init__(self) -> None:
        binary = next((path for name in CHROME_NAMES if (path := shutil.which(name))), None)
        if not binary:
            sys.exit("Chromium is not installed (Debian package chromium)")
        self.profile = tempfile.mkdtemp(prefix="screenshots-chromium-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--hide-scrollbars",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--no-sandbox",  # as Odoo's test browser: Chromium refuses to run as root otherwise
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile, "DevToolsActivePort")
        for _attempt in range(300):
            if port_file.exists() and port_file.stat().st_size > 5:
                break
            time.sleep(0.1)
        else:
            sys.exit("Chromium did not start (no DevToolsActivePort after 30 s)")
        port = int(port_file.read_text().split()[0])
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(target for target in pages if target["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.ids = iter(range(1, 1_000_000))
        self.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events in between are ignored)."""
        command_id = next(self.ids)
        self.socket.send(json.dumps({"id": command_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def open(self, url: str, session: Session, ready: str, then: Callable[[Chromium], None] | None = None) -> None:
        """Open a page as the session's user and wait until the CSS selector ``ready`` is on it."""
        host = url.split("/")[2].split(":")[0]
        self.send("Network.setCookie", name="session_id", value=session.session_id, domain=host, path="/")
        self.send("Page.navigate", url=url)
        self.wait_for(ready)
        if then:
            then(self)
        time.sleep(1.5)  # Odoo's animated totals and transitions settle

    def open_public(self, url: str, ready: str) -> None:
        """Open a page as a visitor without an account (no session cookie), as from a reminder's signed link."""
        self.send("Network.clearBrowserCookies")
        self.send("Page.navigate", url=url)
        self.wait_for(ready)
        time.sleep(1.5)

    def wait_for(self, selector: str, timeout: float = 30) -> None:
        check = f"!!document.querySelector({json.dumps(selector)}) && !document.querySelector('.o_loading_indicator')"
        deadline = time.time() + timeout
        while not self.evaluate(check):
            if time.time() > deadline:
                raise RuntimeError(f"{selector} never appeared on {self.evaluate('location.href')}")
            time.sleep(0.2)

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, name: str) -> Path:
        """Save the page as docs/screenshots/NAME.png, in a palette of 256 colours (small files)."""
        self.evaluate("document.querySelectorAll('.o_notification').forEach((n) => n.remove())")  # passing notices
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        path = OUTPUT / f"{name}.png"
        image.save(path, optimize=True)
        print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KiB")
        return path

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(15)
        shutil.rmtree(self.profile, ignore_errors=True)


def take(odoo: Odoo, browser: Chromium) -> None:
    """The main screens: a manager's (the demo's administrator, who also collects), the setup, the portal."""
    admin = odoo.login("admin", "admin")
    admin_id = admin.model("res.users", "search", [("login", "=", "admin")])
    case_id = admin.model("collection.case", "search", [("level_id", "!=", False)], order="amount_due desc", limit=1)[0]
    strategy_id = admin.model("ir.model.data", "check_object_reference", "account_collections", "strategy_standard")[1]
    url = odoo.url
    browser.open(url + "/odoo", admin, ".o_main_navbar")  # the first visit builds the assets: a warm-up
    time.sleep(3)

    browser.open(url + ACTION.format("action_collection_case"), admin, ".o_kanban_group .o_animated_number")
    browser.screenshot("cases-kanban")
    case_url = f"{url}{ACTION.format('action_collection_case')}/{case_id}"
    browser.open(case_url, admin, ".o_form_view .o_statusbar_status")
    browser.screenshot("case-form")
    browser.open(url + ACTION.format("action_collection_worklist"), admin, ".o_list_view .o_data_row")
    browser.screenshot("my-worklist")

    def open_the_final_notice(page: Chromium) -> None:
        page.click('div[name="level_ids"] .o_data_row:nth-child(5) td[name="name"]')
        page.wait_for(".modal .o_form_view")

    browser.open(
        f"{url}{ACTION.format('action_collection_strategy')}/{strategy_id}",
        admin,
        'div[name="level_ids"] .o_data_row',
        then=open_the_final_notice,
    )
    browser.screenshot("strategy-level-dialog")
    browser.open(url + ACTION.format("action_collection_setup"), admin, 'div[name="weekday_ids"] .badge')
    browser.screenshot("setup")
    browser.open(url + ACTION.format("action_collection_settings"), admin, 'div[name="collection_weekday_ids"]')
    browser.evaluate("document.querySelector('[data-key=\"account_collections\"]')?.scrollIntoView()")
    time.sleep(0.5)
    browser.screenshot("settings")

    portal = odoo.login("portal", "portal")
    browser.open(f"{url}/my/collections", portal, 'form[action$="/promise"]')
    browser.screenshot("portal-payments-due")

    # the customer's signed link (every reminder prints it): the Payments Due page and the contact preferences
    # (every email's opt-out link) open without an account
    partner_id = portal.model("res.users", "read", [portal.uid], ["partner_id"])[0]["partner_id"][0]
    commercial = admin.model("res.partner", "read", [partner_id], ["commercial_partner_id"])[0]
    portal_case = admin.model(
        "collection.case", "search", [("partner_id", "=", commercial["commercial_partner_id"][0])]
    )
    signed = admin.model("collection.case", "get_portal_url", portal_case[:1])
    browser.open_public(url + signed, ".o_collection_pay_all")
    browser.screenshot("portal-signed-link")
    path, _sep, query = signed.partition("?")
    browser.open_public(f"{url}{path}/preferences?{query}", "form.o_collection_preferences_form")
    browser.screenshot("portal-preferences")

    # the same case in Spanish, as a user who reads Spanish sees it (Odoo's language installer loads the terms)
    spanish_id = admin.model("res.lang", "search", [("code", "=", "es_ES")], context={"active_test": False})
    installer = admin.model("base.language.install", "create", {"lang_ids": [(6, 0, spanish_id)]})
    admin.model("base.language.install", "lang_install", [installer])
    admin.model("res.users", "write", admin_id, {"lang": "es_ES"})
    spanish = odoo.login("admin", "admin")
    case_url = f"{url}{ACTION.format('action_collection_case')}/{case_id}"
    browser.open(case_url, spanish, ".o_form_view .o_statusbar_status")
    browser.screenshot("case-form-es")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odoo-home", type=Path, default=Path.home() / "odoo18", help="src/ and venv/ of Odoo 18")
    parser.add_argument("--database", default=f"collections_screenshots_{os.getpid()}")
    parser.add_argument("--keep-db", action="store_true", help="leave the demo database for a look")
    parser.add_argument("--reuse-db", action="store_true", help="take the shots on --database as it is (kept before)")
    options = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    odoo = Odoo(options.odoo_home, options.database)
    if not options.reuse_db:
        odoo.install()
    try:
        with odoo.serving():
            browser = Chromium()
            try:
                take(odoo, browser)
            finally:
                browser.close()
    finally:
        shutil.rmtree(odoo.engine, ignore_errors=True)
        if not options.keep_db:
            subprocess.run(["dropdb", "--if-exists", options.database], check=False)


if __name__ == "__main__":
    main()
