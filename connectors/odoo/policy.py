"""Pull the policy document configured in an Odoo database with the addon, so one policy governs all.

Uses odoorpc over JSON-RPC (``/jsonrpc``, deprecated from Odoo 19 in favour of JSON-2: the transport
is this one function). The Odoo user needs the Collections User group; an API key works as password.
"""

from __future__ import annotations

from urllib.parse import urlparse

from collections_engine.errors import PolicyError
from collections_engine.policy import Policy, policy_from_json

from ..common.errors import AuthorizationError, ConfigurationError, RetryableError, VendorError
from ..common.secrets import Secret


def pull_policy_json(url: str, database: str, login: str, api_key: Secret, company_id: int | None = None) -> str:
    """The policy JSON of the user's company (or ``company_id``) in an Odoo database."""
    import odoorpc

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(f"--odoo-url: not an http(s) URL: {url!r}")
    protocol = "jsonrpc+ssl" if parsed.scheme == "https" else "jsonrpc"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        odoo = odoorpc.ODOO(parsed.hostname, protocol=protocol, port=port, timeout=60)
        odoo.login(database, login, api_key.reveal())
    except odoorpc.error.RPCError as err:
        raise AuthorizationError(f"Odoo refused the login of {login!r} on {database!r}: {err}") from err
    except OSError as err:
        raise RetryableError(f"cannot reach Odoo at {url}: {err}") from err
    if company_id is not None:
        odoo.env.context["allowed_company_ids"] = [company_id]
    try:
        return str(odoo.env["collection.run"].get_policy_json())
    except odoorpc.error.RPCError as err:
        raise VendorError(f"Odoo refused to give the policy (is account_collections installed, is {login!r} a "
                          f"Collections user?): {err}") from err


def pull_policy(url: str, database: str, login: str, api_key: Secret, company_id: int | None = None) -> Policy:
    """The validated policy of an Odoo database."""
    text = pull_policy_json(url, database, login, api_key, company_id)
    try:
        return policy_from_json(text)
    except PolicyError as err:
        raise ConfigurationError(f"the policy from Odoo is invalid: {err}") from err
