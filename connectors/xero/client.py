"""Talks to Xero through the official SDK (xero-python), and nothing else.

What the SDK does that a connector must not let it do (see VENDOR_NOTES):
- ``Configuration`` is a shared default: every client gets its own ``OAuth2Token`` object, or
  organisations could send each other's tokens;
- the SDK would refresh tokens by itself: it gets no client credentials, so only the
  ``TokenManager`` refreshes, under the connection's lock, saving the rotated refresh token
  before the new access token is used (Xero's refresh tokens are single-use);
- urllib3 would retry 429 and 503 itself, sleeping ``Retry-After`` inside a worker: its pool
  manager gets ``retries=False`` and the one retry policy decides.

Reads ask for the raw JSON (``_preload_content=False``) so that one malformed record is
quarantined instead of failing the page in the SDK's model layer. Each call is counted in
the organisation's windows (60/min, 5,000/day) and the app's (10,000/min); the limit headers
of the last response are kept; a spent daily quota is ``QuotaExhaustedError`` (the task waits
for the reset without holding the worker).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from ..common.calls import ApiCalls
from ..common.errors import (
    AuthExpiredError,
    AuthorizationError,
    QuotaExhaustedError,
    RetryableError,
)
from ..common.ratelimit import RateLimiter
from ..common.retry import RetryPolicy, error_for_status, parse_retry_after
from ..common.secrets import mask_secrets
from ..common.tokens import OAuthToken, TokenManager
from .settings import APP_BUCKET, APP_LIMITS, LIMITS, SCOPES, XeroSettings

T = TypeVar("T")
_logger = logging.getLogger(__name__)
DAY = 86400.0


def refresher(settings: XeroSettings, clock: Callable[[], datetime]) -> Callable[[OAuthToken], OAuthToken]:
    """The TokenManager's refresh function: one call to Xero's token endpoint through the SDK's TokenApi."""

    def refresh(token: OAuthToken) -> OAuthToken:
        import urllib3
        from xero_python.api_client import ApiClient, Configuration
        from xero_python.api_client.oauth2 import TokenApi
        from xero_python.exceptions import ApiException

        configuration = Configuration()
        api_client = ApiClient(configuration)
        api_client.rest_client.pool_manager = urllib3.PoolManager(retries=False)
        token_api = TokenApi(api_client, settings.client_id, settings.client_secret.reveal())
        token_api.refresh_token_url = settings.token_url  # an instance attribute: never the SDK's global
        try:
            payload = token_api.refresh_token(token.refresh_token, list(SCOPES))
        except ApiException as err:
            status = _status(err)
            if status in (400, 401):
                raise AuthorizationError(
                    f"{settings.tenant}: Xero refused the refresh token ({status}); connect the organisation again"
                ) from None
            raise RetryableError(f"token refresh failed with HTTP {status}", status=status) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise RetryableError(f"token refresh failed: {type(err).__name__}") from None
        return OAuthToken.from_response(payload, clock())

    return refresh


def _status(err: Any) -> int | None:
    """The HTTP status of an SDK exception (``AccountingBadRequestException.status`` is Xero's message)."""
    response = getattr(err, "http_resp", None)
    status = getattr(response, "status", None)
    if isinstance(status, int):
        return status
    value = getattr(err, "_status", None)
    return value if isinstance(value, int) else None


def _headers(err: Any) -> Mapping[str, str]:
    response = getattr(err, "http_resp", None)
    try:
        return dict(response.getheaders()) if response is not None else {}
    except Exception:
        return {}


def _vendor_message(err: Any) -> str:
    """Xero's own words: a validation error's messages, or the problem's detail."""
    body = getattr(getattr(err, "http_resp", None), "data", None)
    try:
        data = json.loads(body) if body else {}
    except (ValueError, TypeError):
        return str(getattr(err, "reason", "") or "")
    if not isinstance(data, dict):
        return ""
    messages = [
        str(error.get("Message"))
        for element in data.get("Elements") or []
        if isinstance(element, dict)
        for error in element.get("ValidationErrors") or []
        if isinstance(error, dict)
    ]
    return "; ".join(messages) or str(data.get("Message") or data.get("Detail") or data.get("Title") or "")


class XeroClient:
    """One Xero organisation: paged reads as raw JSON, and the writes a collections connector makes."""

    def __init__(
        self,
        settings: XeroSettings,
        tokens: TokenManager,
        limiter: RateLimiter,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self._tokens = tokens
        self._token: OAuthToken | None = None
        self._local = threading.local()
        self._accounting: Any = None
        self._identity: Any = None
        self.limit_state: dict[str, str] = {}
        self._calls = ApiCalls(
            limiter,
            [(settings.tenant, LIMITS), (APP_BUCKET, APP_LIMITS)],
            translate=self._translate,
            refresh=self._refresh,
            policy=policy,
            sleep=sleep,
        )

    @property
    def calls(self) -> int:
        """Requests made so far (retries included)."""
        return self._calls.count

    # -- plumbing ----------------------------------------------------------------------------

    def _token_dict(self) -> dict[str, Any]:
        """What the SDK's token getter must return: exactly the keys it knows."""
        if self._token is None:
            self._token = self._tokens.current(self.settings.token_key)
        token = self._token
        return {
            "access_token": token.access_token,
            "refresh_token": None,
            "scope": list(SCOPES),
            "expires_in": max(0, int((token.expires_at - datetime.now(timezone.utc)).total_seconds())),
            "expires_at": token.expires_at.timestamp(),
            "token_type": "Bearer",
            "id_token": None,
        }

    def _apis(self) -> tuple[Any, Any]:
        if self._accounting is None:
            import urllib3
            from xero_python.accounting import AccountingApi
            from xero_python.api_client import ApiClient, Configuration
            from xero_python.api_client.oauth2 import OAuth2Token
            from xero_python.identity import IdentityApi

            configuration = Configuration()
            configuration.oauth2_token = OAuth2Token()  # this client's own, with no credentials to refresh with
            api_client = ApiClient(configuration, oauth2_token_getter=self._token_dict,
                                   oauth2_token_saver=lambda token: None)
            timeout = urllib3.Timeout(total=self.settings.timeout)
            api_client.rest_client.pool_manager = urllib3.PoolManager(retries=False, timeout=timeout)
            self._accounting = AccountingApi(api_client, base_url=self.settings.api_base)
            self._identity = IdentityApi(api_client, base_url=self.settings.connections_base)
        return self._accounting, self._identity

    def _refresh(self) -> None:
        self._token = self._tokens.refresh(self.settings.token_key, stale=self._token)

    def _translate(self, err: Exception, describe: str) -> Exception:
        import urllib3
        from xero_python.exceptions import AccessTokenExpiredError, ApiException

        if isinstance(err, AccessTokenExpiredError):
            return AuthExpiredError(f"{describe}: the access token expired")
        if isinstance(err, (urllib3.exceptions.HTTPError, OSError)):
            return RetryableError(f"{describe}: {type(err).__name__}")
        if not isinstance(err, ApiException):
            return err
        status = _status(err)
        headers = {k.lower(): v for k, v in _headers(err).items()}
        self._remember(headers)
        retry_after = parse_retry_after(headers.get("retry-after"))
        access = self._token.access_token if self._token else None
        text = mask_secrets(f"{describe}: HTTP {status} {_vendor_message(err)}".strip(), access)
        if not status:
            return RetryableError(text, retry_after=retry_after, status=status)  # no answer: the connection failed
        if status == 429:
            problem = headers.get("x-rate-limit-problem", "").lower()
            if problem == "day":
                return QuotaExhaustedError(f"{text} (daily limit)", retry_after=retry_after or DAY, status=429)
            text = f"{text} ({problem or 'rate'} limit)"
        return error_for_status(status, text, retry_after=retry_after, code=str(status))

    def _remember(self, headers: Mapping[str, str]) -> None:
        for name in ("x-minlimit-remaining", "x-daylimit-remaining", "x-appminlimit-remaining"):
            if name in headers:
                self.limit_state[name] = headers[name]

    def _read(self, describe: str, collection: str, operation: Callable[[Any], Any]) -> list[Any]:
        """A GET whose raw JSON envelope holds ``collection``."""
        return self._read_envelope(describe, collection, operation)[0]

    def _read_envelope(
        self, describe: str, collection: str, operation: Callable[[Any], Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """A GET's records and its envelope's ``pagination`` (empty when there is none)."""

        def attempt() -> tuple[list[Any], dict[str, Any]]:
            accounting, _identity = self._apis()
            response = operation(accounting)
            self._remember({k.lower(): v for k, v in response.headers.items()})
            try:
                envelope = json.loads(response.data)
            except ValueError as err:
                raise RetryableError(f"{describe}: the response is not JSON") from err
            records = envelope.get(collection) if isinstance(envelope, dict) else None
            if not isinstance(records, list):
                raise RetryableError(f"{describe}: the response has no {collection} list")
            pagination = envelope.get("pagination")
            return records, pagination if isinstance(pagination, dict) else {}

        return self._calls.call(describe, attempt)

    def _write(self, describe: str, operation: Callable[[Any], T]) -> T:
        def attempt() -> T:
            accounting, _identity = self._apis()
            return operation(accounting)

        return self._calls.call(describe, attempt)

    # -- reads -------------------------------------------------------------------------------

    def list_page(
        self, collection: str, page: int, since: datetime | None, where: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of a collection (Contacts, Invoices, CreditNotes, Payments, Overpayments, Prepayments)
        modified since an instant, oldest change first; and whether it is the last page."""
        method = {
            "Contacts": "get_contacts",
            "Invoices": "get_invoices",
            "CreditNotes": "get_credit_notes",
            "Payments": "get_payments",
            "Overpayments": "get_overpayments",
            "Prepayments": "get_prepayments",
        }[collection]
        size = self.settings.page_size
        options: dict[str, Any] = {"page": page, "page_size": size, "order": "UpdatedDateUTC ASC",
                                   "_preload_content": False}
        if collection == "Contacts":
            options["include_archived"] = True
        if since is not None:
            options["if_modified_since"] = since
        if where:
            options["where"] = where
        tenant = self.settings.tenant_id
        records, pagination = self._read_envelope(
            f"{collection} page {page}", collection, lambda api: getattr(api, method)(tenant, **options)
        )
        if "pageCount" in pagination:  # Xero says how many pages there are: trust it over the page's length
            last = int(pagination.get("page") or page) >= int(pagination.get("pageCount") or 0)
        else:
            last = len(records) < int(pagination.get("pageSize") or size)
        return records, last

    def organisation(self) -> dict[str, Any]:
        """The organisation's settings (name, base currency, country)."""
        tenant = self.settings.tenant_id
        (record,) = self._read("Organisation", "Organisations",
                               lambda api: api.get_organisations(tenant, _preload_content=False))
        return dict(record)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """One invoice as Xero has it now."""
        tenant = self.settings.tenant_id
        records = self._read(f"invoice {invoice_id}", "Invoices",
                             lambda api: api.get_invoice(tenant, invoice_id, _preload_content=False))
        return dict(records[0])

    # -- writes ------------------------------------------------------------------------------

    def email_invoice(self, invoice_id: str, key: str) -> None:
        """Have Xero email the invoice to its contact (204); ``key`` makes a repeat a no-op at Xero."""
        from xero_python.accounting.models import RequestEmpty

        tenant = self.settings.tenant_id
        self._write(f"email invoice {invoice_id}",
                    lambda api: api.email_invoice(tenant, invoice_id, RequestEmpty(), idempotency_key=key))

    def add_history(self, invoice_id: str, details: str, key: str) -> None:
        """Add a note to the invoice's history and notes."""
        from xero_python.accounting.models import HistoryRecord, HistoryRecords

        tenant = self.settings.tenant_id
        body = HistoryRecords(history_records=[HistoryRecord(details=details)])
        self._write(f"history of invoice {invoice_id}",
                    lambda api: api.create_invoice_history(tenant, invoice_id, body, idempotency_key=key))

    def online_invoice_url(self, invoice_id: str) -> str | None:
        """The customer's online invoice (where Xero takes card payments when the organisation allows it)."""
        tenant = self.settings.tenant_id
        records = self._read(f"online invoice {invoice_id}", "OnlineInvoices",
                             lambda api: api.get_online_invoice(tenant, invoice_id, _preload_content=False))
        url = records[0].get("OnlineInvoiceUrl") if records and isinstance(records[0], dict) else None
        return str(url) if url else None

    def contact_groups(self) -> list[dict[str, Any]]:
        """Every contact group (with its contacts' ids when Xero lists them)."""
        tenant = self.settings.tenant_id
        return [dict(g) for g in self._read("contact groups", "ContactGroups",
                                            lambda api: api.get_contact_groups(tenant, _preload_content=False))]

    def group_members(self, group_id: str) -> list[str]:
        """The ContactIDs of a contact group's members."""
        tenant = self.settings.tenant_id
        groups = self._read(f"contact group {group_id}", "ContactGroups",
                            lambda api: api.get_contact_group(tenant, group_id, _preload_content=False))
        contacts = groups[0].get("Contacts") if groups and isinstance(groups[0], dict) else None
        return [str(c["ContactID"]) for c in contacts or [] if isinstance(c, dict) and c.get("ContactID")]

    def create_contact_group(self, name: str, key: str) -> str:
        """Create a contact group; return its id."""
        from xero_python.accounting.models import ContactGroup, ContactGroups

        tenant = self.settings.tenant_id
        body = ContactGroups(contact_groups=[ContactGroup(name=name)])
        created = self._write(f"create contact group {name!r}",
                              lambda api: api.create_contact_group(tenant, body, idempotency_key=key))
        return str(created.contact_groups[0].contact_group_id)

    def add_to_group(self, group_id: str, contact_id: str, key: str) -> None:
        """Put a contact in a group."""
        from xero_python.accounting.models import Contact, Contacts

        tenant = self.settings.tenant_id
        body = Contacts(contacts=[Contact(contact_id=contact_id)])
        self._write(f"add contact {contact_id} to group {group_id}",
                    lambda api: api.create_contact_group_contacts(tenant, group_id, body, idempotency_key=key))

    def remove_from_group(self, group_id: str, contact_id: str) -> None:
        """Take a contact out of a group (a contact already out of it is fine)."""
        tenant = self.settings.tenant_id

        def remove(api: Any) -> None:
            from xero_python.exceptions import NotFoundException

            try:
                api.delete_contact_group_contact(tenant, group_id, contact_id)
            except NotFoundException:
                return

        self._write(f"remove contact {contact_id} from group {group_id}", remove)

    def connections(self) -> list[dict[str, Any]]:
        """The organisations this token set may reach (``GET /connections``)."""

        def attempt() -> list[dict[str, Any]]:
            _accounting, identity = self._apis()
            response = identity.get_connections(_preload_content=False)
            data = json.loads(response.data)
            return [dict(c) for c in data] if isinstance(data, list) else []

        return self._calls.call("connections", attempt)
