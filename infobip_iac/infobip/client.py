"""`InfobipClient`: the KeyService over HTTP, the one place that talks to Infobip.

Every request goes through `_call`, which paces reads, retries what is safe to retry,
turns every answer that is not a success into a typed error (`answers.api_error`) and every
httpx exception into a TransportError, and logs method, path template, status and duration
(never headers, bodies, query values or secrets).
"""

from __future__ import annotations

import random
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal, Self
from urllib.parse import quote, urlsplit

import httpx

from infobip_iac import __version__, interrupts
from infobip_iac.domain.keys import CALLER_ACCOUNT, KeyWrite, LiveKey
from infobip_iac.errors import (
    AmbiguousWriteError,
    InfobipApiError,
    NotFoundError,
    PermissionDeniedError,
    TransportError,
)
from infobip_iac.infobip.answers import (
    api_error,
    decode_json,
    parse_http_date,
    parse_retry_after,
    without_hint,
)
from infobip_iac.infobip.api import (
    MAX_READERS,
    AccountKeys,
    CreatedKey,
    ProgressCallback,
    list_accounts_concurrently,
)
from infobip_iac.infobip.audit import AUDIT_PATH, AuditEntry, audit_entries_from_wire
from infobip_iac.infobip.auth import build_auth, close_auth
from infobip_iac.infobip.listing import read_account, read_by_name
from infobip_iac.infobip.pacing import (
    DEFAULT_MAX_THROTTLE_WAIT,
    MAX_RETRY_AFTER,
    Pacer,
    ReadBudget,
)
from infobip_iac.infobip.settings import ConnectionSettings, Credentials, normalize_base_url
from infobip_iac.infobip.transport import (
    DEFAULT_MAX_BODY,
    AnswerEncoded,
    AnswerTooLarge,
    AnswerTooSlow,
    BoundedTransport,
    deadline_http_transport,
)
from infobip_iac.infobip.wire import (
    KeyPage,
    created_key_from_wire,
    live_key_from_wire,
    page_from_wire,
    write_to_wire,
)
from infobip_iac.logs import get_logger

__all__ = [
    "MAX_READERS",
    "InfobipClient",
    "list_accounts_concurrently",
]

KEYS_PATH = "/settings/2/api-keys"
# A write throttled this often in a row is not sent again, whatever Retry-After says.
_MAX_THROTTLED_WRITES = 20
KEY_PATH = "/settings/2/api-keys/{apiKeyId}"
AUDIT_LIMIT = 10_000  # the most entries one audit-log search answers

Kind = Literal["read", "write", "auth"]

_log = get_logger(__name__)


class _Failure(Enum):
    NOT_SENT = "the connection could not be made"
    NO_ANSWER = "no answer"
    # Too large, too slow or compressed: asking again would not help.
    UNUSABLE = "an unusable answer"
    SERVER_ERROR = "server error"


def _may_retry(kind: Kind, method: str, failure: _Failure) -> bool:
    """The one place that decides which failed requests are sent again.

    - Reads (GET): anything passing (5xx, 429, no answer): reading twice changes nothing.
    - A PUT sets the fields it carries to fixed values, so sending the same PUT twice leaves
      the key as sending it once would: retried on 5xx and on no answer.
    - A write's 429 means the write was not made: it is sent again after a short
      `Retry-After` (see `_wait_out_throttle`); a long one is the daily write limit, and
      stopping there is apply's decision.
    - A POST creates a key each time it arrives: sent again only when it certainly never
      left (the connection could not be made). One that may have arrived is ambiguous.
    - Auth requests: a token or session made twice is harmless (the first goes unused).
    """
    if failure is _Failure.NOT_SENT:
        return True
    if failure is _Failure.UNUSABLE:
        return False
    if kind == "read":
        return True
    return kind == "auth" or method == "PUT"


def _classify(error: httpx.HTTPError) -> _Failure:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return _Failure.NOT_SENT
    if isinstance(error, AnswerTooLarge | AnswerTooSlow | AnswerEncoded):
        return _Failure.UNUSABLE
    return _Failure.NO_ANSWER


def _describe(error: httpx.HTTPError) -> str:
    # Our own bounds say what happened in words; httpx's messages may carry URLs with
    # query values, so only their type is shown.
    if isinstance(error, AnswerTooLarge | AnswerTooSlow | AnswerEncoded):
        return str(error)
    return type(error).__name__


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def _default_transport(base_url: str) -> httpx.BaseTransport:
    # A custom transport turns off httpx's own reading of proxy variables, so honour them
    # here, except for loopback (the emulator).
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not _is_loopback(host) and not urllib.request.proxy_bypass(host):
        return deadline_http_transport(proxy=proxy)
    if parts.scheme == "http":
        # Plain http (the emulator) speaks no TLS, so httpx's default context, which loads
        # a CA bundle for about 30 ms of every run, would go unused. This one still checks
        # certificates and host names but trusts none: any TLS asked of it is refused.
        return deadline_http_transport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    return deadline_http_transport()


class InfobipClient:
    """Infobip's account-management API for API keys, as a `KeyService`.

    Thread-safe: `list_accounts_concurrently` reads several accounts at once over the one
    connection pool, each account within its own read budget.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        budget: ReadBudget | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        max_attempts: int = 5,
        max_retry_wait: float = MAX_RETRY_AFTER,
        max_throttle_wait: float = DEFAULT_MAX_THROTTLE_WAIT,
        backoff: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._base_url = normalize_base_url(base_url)
        self._budget = budget or ReadBudget(clock=clock, sleep=sleep)
        self._max_attempts = max_attempts
        self._timeout = timeout
        self._max_retry_wait = max_retry_wait
        self._max_throttle_wait = max_throttle_wait
        # Seconds this client has waited out writes' 429s, against max_throttle_wait.
        self._throttle_waited = 0.0
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._jitter = random.Random()  # noqa: S311 - spreads retries; not for secrets
        self._date_lock = threading.Lock()
        self._server_date: tuple[datetime, float] | None = None
        self._write_requests = 0  # counted under _date_lock
        host = urlsplit(self._base_url).hostname or ""
        if self._base_url.startswith("http://") and not _is_loopback(host):
            _log.warning("infobip base URL is plain http: credentials travel unencrypted")
        self._http = httpx.Client(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout),
            transport=BoundedTransport(
                transport or _default_transport(self._base_url),
                max_bytes=max_body,
                deadline=timeout,
                clock=clock,
            ),
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=2 * MAX_READERS, max_keepalive_connections=MAX_READERS
            ),
            headers={"Accept": "application/json", "User-Agent": f"infobip-iac/{__version__}"},
        )
        self._auth = build_auth(credentials, self, clock=clock)

    @property
    def base_url(self) -> str:
        return self._base_url

    @classmethod
    def from_settings(cls, settings: ConnectionSettings, **options: Any) -> InfobipClient:
        return cls(base_url=settings.base_url, credentials=settings.credentials, **options)

    # -- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Log out of a session, if one was made, and close the connections."""
        try:
            close_auth(self._auth)
        finally:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InfobipClient(base_url={self._base_url!r})"

    # -- KeyService ----------------------------------------------------------------------

    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
        sweep_all: bool = False,
    ) -> AccountKeys:
        started = self._clock()
        try:
            result = read_account(
                account,
                fetch=self._page_fetcher(account),
                names=names,
                progress=progress,
                sweep_all=sweep_all,
            )
        except PermissionDeniedError as error:
            if account == CALLER_ACCOUNT:
                raise
            # Infobip answers 403, not 404, for an account id the caller cannot reach, be it
            # unknown or someone else's: the general advice about the scope would mislead.
            raise PermissionDeniedError(
                f"account {account} does not exist, or these credentials cannot manage it "
                f"(Infobip answered {without_hint(error)})",
                status=error.status,
                error_code=error.error_code,
                operation=error.operation,
                violations=error.violations,
            ) from None
        _log.debug(
            "infobip keys listed",
            account=account,
            keys=len(result.keys),
            requests=result.requests,
            complete=result.complete,
            duration_ms=round((self._clock() - started) * 1000),
        )
        return result

    def list_accounts_concurrently(
        self,
        requests: Mapping[str, Collection[str]],
        *,
        max_workers: int = MAX_READERS,
        progress: ProgressCallback | None = None,
    ) -> dict[str, AccountKeys]:
        """Every account of `requests` (account reference -> declared names), read in
        parallel threads (as many as accounts, up to `max_workers`), each within its own
        read budget. `progress` is called from those threads."""
        return list_accounts_concurrently(
            self, requests, max_workers=max_workers, progress=progress
        )

    def get_key(self, key_id: str, *, account: str) -> LiveKey | None:
        try:
            return self._one_key(
                "GET", key_id, kind="read", account=account, operation="get API key"
            )
        except NotFoundError:
            return None

    def find_by_name(self, account: str, name: str) -> list[LiveKey]:
        keys, _ = read_by_name(account, name, fetch=self._page_fetcher(account))
        return keys

    def create_key(self, account: str, write: KeyWrite) -> CreatedKey:
        operation = "create API key"
        # Sent as given: the planner and apply resolved any `valid_for` already.
        body = write_to_wire(write, account_id=None if account == CALLER_ACCOUNT else account)
        content = self._call(
            "POST", KEYS_PATH, kind="write", json=body, operation=operation, decode=False
        )
        try:
            answer = decode_json(content, operation=operation) if content else None
            key, secret = created_key_from_wire(answer, operation=operation)
        except TransportError as error:
            # The key exists (Infobip answered with a success) but we cannot tell which one
            # it is, whether the body is not JSON at all or JSON without a key in it.
            raise AmbiguousWriteError(
                f"the key may have been created, but the answer was unreadable ({error.message})",
                operation=operation,
            ) from None
        return CreatedKey(key=key, secret=secret)

    def update_key(self, key_id: str, *, account: str, write: KeyWrite) -> LiveKey:
        body = write_to_wire(write, account_id=None if account == CALLER_ACCOUNT else account)
        return self._one_key("PUT", key_id, kind="write", body=body, operation="update API key")

    def _one_key(
        self,
        method: str,
        key_id: str,
        *,
        kind: Kind,
        operation: str,
        account: str = CALLER_ACCOUNT,
        body: Any = None,
    ) -> LiveKey:
        """A call on one key's path, answered with that key."""
        answer = self._call(
            method,
            KEY_PATH,
            path_params={"apiKeyId": key_id},
            kind=kind,
            account=account,
            json=body,
            operation=operation,
        )
        return live_key_from_wire(answer, operation=operation)

    def key_audit_log(self) -> list[AuditEntry]:
        """The audit log's entries about API keys, in one request (Infobip answers up to
        10,000, newest first). Raises PermissionDeniedError when the credentials lack the
        audit-logs:read scope."""
        operation = "search audit logs"
        answer = self._call(
            "GET",
            AUDIT_PATH,
            params={"item": "ApiKey", "limit": str(AUDIT_LIMIT)},
            kind="read",
            operation=operation,
        )
        return audit_entries_from_wire(answer)

    def write_requests(self) -> int:
        """Write requests (creates and updates) sent so far, every attempt counted."""
        with self._date_lock:
            return self._write_requests

    def server_time(self) -> datetime:
        """Infobip's clock: the latest `Date` header plus the time since it arrived (Date has
        one-second resolution); local UTC time before any answer."""
        with self._date_lock:
            seen = self._server_date
        if seen is None:
            return datetime.now(UTC).replace(microsecond=0)
        date, received = seen
        elapsed = max(self._clock() - received, 0.0)
        return (date + timedelta(seconds=elapsed)).replace(microsecond=0)

    # -- TokenExchange (for auth flows) --------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        form: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return self._call(
            method,
            path,
            kind="auth",
            form=form,
            json=json,
            headers=headers,
            operation=operation,
            authenticate=False,
        )

    # -- internals -------------------------------------------------------------------------

    def _page_fetcher(self, account: str) -> Callable[[Mapping[str, str]], KeyPage]:
        operation = "list API keys"

        def fetch(params: Mapping[str, str]) -> KeyPage:
            answer = self._call(
                "GET", KEYS_PATH, params=params, kind="read", account=account, operation=operation
            )
            return page_from_wire(answer, operation=operation)

        return fetch

    def _note_date(self, response: httpx.Response) -> None:
        date = parse_http_date(response.headers.get("date"))
        if date is not None:
            with self._date_lock:
                self._server_date = (date, self._clock())

    def _let_a_late_create_land(self) -> None:
        """A create that timed out may still be at work on the server, and would land after
        a lookup made at once: the caller's lookup by name would miss it and create the key
        twice. Give the server as long again as it was given before saying the outcome is
        unknown (a server that commits later still than that can still cause a duplicate)."""
        _log.debug("create timed out; waiting before its outcome is looked up", wait=self._timeout)
        self._pause(self._timeout)

    def _pause_before_retry(self, attempt: int) -> None:
        ceiling = min(self._backoff * 2 ** (attempt - 1), 8.0)
        self._pause(ceiling / 2 + self._jitter.uniform(0, ceiling / 2))

    def _pause(self, seconds: float) -> None:
        """Sleep, in slices short enough that a stop signal held back by a critical block
        ends the wait at once (`Stopped`) instead of after it."""
        left = seconds
        while left > 0:
            interrupts.raise_if_stopping()
            step = min(left, 0.25)
            self._sleep(step)
            left -= step
        interrupts.raise_if_stopping()

    def _wait_out_throttle(self, retry_after: float | None, throttled: int) -> bool:
        """A write got a 429, so it was not made: wait out a short `Retry-After` and say
        True (send it again). False for a long or missing one (the daily write limit, for
        apply to stop on) or once this run's waits would pass `max_throttle_wait`."""
        if retry_after is None or retry_after > self._max_retry_wait:
            return False
        if throttled > _MAX_THROTTLED_WRITES:
            return False
        if self._throttle_waited + retry_after > self._max_throttle_wait:
            _log.warning(
                "infobip keeps throttling writes; not waiting longer than --max-throttle-wait",
                waited=round(self._throttle_waited),
                max_throttle_wait=self._max_throttle_wait,
            )
            return False
        self._throttle_waited += retry_after
        _log.info("infobip write throttled; waiting before sending it again", wait=retry_after)
        self._pause(retry_after)
        return True

    def _call(
        self,
        method: str,
        template: str,
        *,
        kind: Kind,
        operation: str,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        account: str = CALLER_ACCOUNT,
        authenticate: bool = True,
        decode: bool = True,
    ) -> Any:
        """One logical request: the decoded JSON of its success answer (its raw bytes with
        `decode=False`, for a caller that must judge an unreadable body itself), or a typed
        error."""
        path = template
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        auth: httpx.Auth | None = self._auth if authenticate else None
        attempt = 0
        pacer: Pacer | None = None
        # A write sent without an answer may have landed: however its retries end, the
        # outcome is then unknown, and the caller must look before it trusts a failure.
        unanswered = False

        def outcome_of(failed: InfobipApiError) -> InfobipApiError:
            if not unanswered or isinstance(failed, AmbiguousWriteError):
                return failed
            return AmbiguousWriteError(
                "an earlier attempt got no answer and may have landed; the last one "
                f"failed: {failed.message}",
                operation=operation,
            )

        # The loop is written out rather than driven by a retry library such as tenacity:
        # whether to send again depends on more than the exception. It depends on the kind
        # of operation and how it failed (`_may_retry`: a create that may have landed is
        # never sent blindly again, it becomes AmbiguousWriteError), on whether an earlier
        # attempt went unanswered (`outcome_of`), and a read's 429 waits out Retry-After in
        # the read budget shared by every thread reading that account, not in a sleep of
        # this loop. Retry predicates and wait strategies would have to carry all of that
        # state, and a library's own wait would bypass the shared budget.
        throttled = 0
        while True:
            # Nothing new is sent after a stop signal, not even a retry.
            interrupts.raise_if_stopping()
            attempt += 1
            last = attempt >= self._max_attempts
            if kind == "read":
                pacer = self._budget.acquire(account)
            started = self._clock()
            if kind == "write":
                # Every attempt is a request Infobip may count toward its 40 a day,
                # whatever comes back (or whether anything does).
                with self._date_lock:
                    self._write_requests += 1
            try:
                request = self._http.build_request(
                    method, path, params=params, json=json, data=form, headers=headers
                )
                response = self._http.send(request, auth=auth)
            except InfobipApiError:
                raise  # from a token request inside the auth flow: already typed
            except (httpx.InvalidURL, httpx.StreamError) as error:
                # Not HTTPError subclasses in httpx; the request never left either way.
                raise TransportError(
                    f"the request could not be made ({type(error).__name__}); "
                    "check INFOBIP_BASE_URL",
                    operation=operation,
                ) from None
            except httpx.HTTPError as error:
                # Abandoned for a stop signal: the caller's journal keeps what it sent.
                interrupts.raise_if_stopping()
                failure = _classify(error)
                _log.debug(
                    "infobip request failed",
                    method=method,
                    path=template,
                    error=_describe(error),
                    attempt=attempt,
                    duration_ms=round((self._clock() - started) * 1000),
                )
                unanswered = unanswered or (kind == "write" and failure is not _Failure.NOT_SENT)
                if not last and _may_retry(kind, method, failure):
                    self._pause_before_retry(attempt)
                    continue
                if kind == "write" and method == "POST" and failure is not _Failure.NOT_SENT:
                    if failure is _Failure.NO_ANSWER and isinstance(error, httpx.TimeoutException):
                        self._let_a_late_create_land()
                    raise AmbiguousWriteError(
                        f"the request was sent but {failure.value} came back "
                        f"({_describe(error)}); the key may or may not exist now",
                        operation=operation,
                    ) from None
                # The base URL is shown (normalize_base_url keeps passwords out of it): a
                # typo in it is the likeliest cause.
                raise outcome_of(
                    TransportError(
                        f"{failure.value} ({_describe(error)}) after {attempt} attempt(s) to "
                        f"{self._base_url}; check INFOBIP_BASE_URL and the network",
                        operation=operation,
                    )
                ) from None
            self._note_date(response)
            status = response.status_code
            _log.debug(
                "infobip request",
                method=method,
                path=template,
                status=status,
                attempt=attempt,
                duration_ms=round((self._clock() - started) * 1000),
            )
            if 200 <= status < 300:
                if not decode:
                    return response.content
                return (
                    decode_json(response.content, operation=operation) if response.content else None
                )

            retry_after = parse_retry_after(
                response.headers.get("retry-after"), now=self.server_time()
            )
            failed = api_error(
                status=status, body=response.content, operation=operation, retry_after=retry_after
            )
            if status == 429:
                if kind != "read":
                    throttled += 1
                    # Not counted as an attempt: the write was not made, and what bounds
                    # these waits is their number and their total time.
                    attempt -= 1
                    if self._wait_out_throttle(retry_after, throttled):
                        continue
                    raise outcome_of(failed)
                self._budget.throttled(account, retry_after, pacer=pacer)
                if last or (retry_after or 0.0) > self._max_retry_wait:
                    raise outcome_of(failed)
                continue  # the read budget now holds off as asked
            if status >= 500 and not last and _may_retry(kind, method, _Failure.SERVER_ERROR):
                self._pause_before_retry(attempt)
                continue
            raise outcome_of(failed)
