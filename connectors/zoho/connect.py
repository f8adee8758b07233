"""``odoo-collections connect zoho``: Zoho's OAuth authorization-code flow (offline access) with a local redirect.

Zoho runs separate data centres (.com, .eu, .in, .com.au, .jp, .ca, .sa, .com.cn). The consent page
of any of them sends the user to their own; the redirect names the user's accounts server
(``accounts-server``), where the code is exchanged, and the token names the ``api_domain`` of their
data. Every organisation the user reaches (``GET /organizations``) becomes a tenant
``zoho:<organization_id>``; they share one refresh token, stored once, encrypted.
"""

from __future__ import annotations

import os
import secrets
import uuid
import webbrowser
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import click

from ..cli_common import err_console, failure, open_runtime, print_payload, wait_for_callback
from ..common.errors import AuthorizationError, ConnectorError
from ..common.secrets import Secret, secret_from_env
from ..common.tokens import OAuthToken, TokenStore
from .client import ZohoClient, refresher, token_request
from .settings import (
    CLIENT_SECRET_VARIABLE,
    DATA_CENTRES,
    PLATFORM,
    SCOPES,
    WEBHOOK_KEY_VARIABLE,
    ZohoSettings,
    tenant_webhook_secret,
)

LOCATIONS = {"us": "com", "eu": "eu", "in": "in", "au": "com.au", "jp": "jp", "ca": "ca", "sa": "sa", "cn": "com.cn"}


def exchange_code(accounts_url: str, client_id: str, secret: Secret, code: str, redirect: str) -> OAuthToken:
    """Trade an authorization code for the refresh token and the first access token (with ``api_domain``)."""
    payload = token_request(f"{accounts_url}/oauth/v2/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client_id,
        "client_secret": secret.reveal()})
    if "access_token" not in payload or "refresh_token" not in payload:
        raise AuthorizationError(f"Zoho refused the authorization code ({payload.get('error') or 'no refresh token'})")
    return OAuthToken(access_token=str(payload["access_token"]), refresh_token=str(payload["refresh_token"]),
                      expires_at=datetime.now(timezone.utc) + timedelta(seconds=int(payload.get("expires_in") or 3600)),
                      extra={"api_domain": str(payload.get("api_domain") or "")})


def accounts_server_of(answer: dict[str, str], chosen: str) -> tuple[str, str]:
    """The user's data centre and accounts server from the redirect; only a known Zoho server (or the one asked)."""
    server = (answer.get("accounts-server") or chosen).rstrip("/")
    data_centre = LOCATIONS.get(answer.get("location", ""), "")
    known = {accounts: dc for dc, (accounts, _api) in DATA_CENTRES.items()}
    if server in known:
        return known[server], server
    if server == chosen.rstrip("/"):
        return data_centre or "com", server
    raise AuthorizationError(f"the redirect names an accounts server that is not Zoho's: {server[:80]}")


@click.command(PLATFORM)
@click.option("--client-id", envvar="ZOHO_CLIENT_ID", required=True, help="The Zoho app's client id (API console).")
@click.option("--data-centre", type=click.Choice(sorted(DATA_CENTRES)), default="com", show_default=True,
              help="The data centre whose consent page opens (the user's own is followed from there).")
@click.option("--accounts-url", default=None, help="Another accounts server (a local one in tests).")
@click.option("--port", default=8767, show_default=True, help="Local port of the OAuth redirect.")
@click.option("--daily-limit", default=10000, show_default=True, help="The plan's daily API calls per organisation.")
@click.option("--no-browser", is_flag=True, help="Print the authorization URL instead of opening a browser.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the authorization.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def connect_zoho(
    ctx: click.Context, client_id: str, data_centre: str, accounts_url: str | None, port: int, daily_limit: int,
    no_browser: bool, timeout: float, output_format: str,
) -> None:
    """Authorize access to Zoho Books organisations and store their (shared, encrypted) token."""
    try:
        secret = secret_from_env(CLIENT_SECRET_VARIABLE, "the Zoho app's client secret")
        chosen = (accounts_url or DATA_CENTRES[data_centre][0]).rstrip("/")
        redirect = f"http://127.0.0.1:{port}/callback"
        state = secrets.token_urlsafe(24)
        query = {"scope": ",".join(SCOPES), "client_id": client_id, "response_type": "code",
                 "redirect_uri": redirect, "access_type": "offline", "prompt": "consent", "state": state}
        url = f"{chosen}/oauth/v2/auth?{urlencode(query)}"

        def show() -> None:
            err_console.print(f"Authorize the connection in your browser:\n{url}")
            if not no_browser:
                webbrowser.open(url)

        answer = wait_for_callback(port, state, timeout, show)
        dc, server = accounts_server_of(answer, chosen)
        token = exchange_code(server, client_id, secret, answer["code"], redirect)
        runtime = open_runtime(ctx)
        common: dict[str, Any] = {"connection": uuid.uuid4().hex, "client_id": client_id, "client_secret": secret,
                                  "data_centre": dc, "accounts_server": server, "daily_limit": daily_limit,
                                  "api_domain": token.extra.get("api_domain") or DATA_CENTRES[dc][1]}
        draft = ZohoSettings(organization_id="pending", **common)
        TokenStore(runtime.store, runtime.cipher).save(draft.token_key, token)
        tokens = runtime.token_manager(refresher(draft, runtime.clock))
        tenants, secrets_by_tenant = [], {}
        for organization in ZohoClient(draft, tokens, runtime.limiter).organizations():
            if not organization.get("organization_id"):
                continue
            settings = ZohoSettings(organization_id=str(organization["organization_id"]),
                                    organization_name=str(organization.get("name") or ""),
                                    home_currency=str(organization.get("currency_code") or "USD").upper(), **common)
            runtime.store.tenants.save_tenant(settings.tenant, PLATFORM, settings.to_record())
            tenants.append(settings.tenant)
            key = os.environ.get(WEBHOOK_KEY_VARIABLE)
            if key:
                secrets_by_tenant[settings.tenant] = tenant_webhook_secret(key, settings.tenant)
        if not tenants:
            raise AuthorizationError("the authorization covers no Zoho Books organisation")
    except ConnectorError as err:
        raise failure(err) from err
    payload: dict[str, Any] = {"tenants": tenants, "connected": True}
    if secrets_by_tenant:
        payload["webhook_secrets"] = secrets_by_tenant  # for each organisation's webhook header, shown once
    print_payload(payload, output_format, f"Connected {', '.join(tenants)}")

