"""The one place that knows Infobip's paging: every key of an account in the fewest pages.

A filter pages 100 keys at a time through pages 0…100, so it reaches at most 10,100 keys.
A larger account is read as two filters (`enabled=true`, `enabled=false`); a part still too
large is read as far as paging reaches, plus every declared name on its own (`name=`), so
that each declared key is found even where paging cannot go. What no filter can reach, and
no manifest declares, cannot be listed: the result says so.

The server is not trusted to end: a filter never goes past page 100, and a page that only
repeats keys already read stops the listing with a TransportError.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from infobip_iac.domain.keys import CALLER_ACCOUNT, LiveKey
from infobip_iac.errors import TransportError
from infobip_iac.infobip.api import AccountKeys, ProgressCallback
from infobip_iac.infobip.wire import MAX_PAGE_INDEX, PAGE_SIZE, KeyPage

__all__ = ["REACH", "FetchPage", "read_account", "read_by_name"]

REACH = (MAX_PAGE_INDEX + 1) * PAGE_SIZE  # 10,100 keys: the most one filter can page through
_OPERATION = "list API keys"

# (query parameters) -> one page; the caller paces, retries and counts nothing itself.
FetchPage = Callable[[Mapping[str, str]], KeyPage]


@dataclass
class _Listing:
    account: str
    fetch: FetchPage
    progress: ProgressCallback | None
    requests: int = 0
    planned: int = 0  # pages we expect to read in all, for the progress bar
    notes: list[str] = field(default_factory=list)
    complete: bool = True

    def base(self) -> dict[str, str]:
        params = {"size": str(PAGE_SIZE)}
        if self.account != CALLER_ACCOUNT:
            params["accountId"] = self.account
        return params

    def page(self, params: Mapping[str, str], index: int) -> KeyPage:
        answer = self.fetch({**params, "page": str(index)})
        self.requests += 1
        self.planned = max(self.planned, self.requests)
        if self.progress is not None:
            self.progress(self.account, self.requests, self.planned)
        return answer

    def expect(self, pages: int) -> None:
        """`pages` more pages are coming (the first of them already read)."""
        self.planned = max(self.planned, self.requests + pages - 1)

    def through(self, params: Mapping[str, str], first: KeyPage, found: dict[str, LiveKey]) -> bool:
        """Read the pages after `first` into `found`; False when paging ran out of reach
        before the server's last page."""
        for key in first.keys:
            found[key.id] = key
        total_pages, total_count = first.total_pages, first.total_count
        self.expect(min(total_pages, MAX_PAGE_INDEX + 1))
        index = 1
        while index < total_pages:
            if index > MAX_PAGE_INDEX:
                if total_count <= REACH:
                    raise TransportError(
                        f"Infobip claims more than {MAX_PAGE_INDEX + 1} pages for "
                        f"{total_count} keys; the listing was stopped",
                        operation=_OPERATION,
                    )
                return False
            answer = self.page(params, index)
            if not answer.keys:
                break  # the server has nothing more, whatever it said before
            if all(key.id in found for key in answer.keys):
                raise TransportError(
                    f"page {index} repeats keys already read; the listing was stopped",
                    operation=_OPERATION,
                )
            for key in answer.keys:
                found[key.id] = key
            total_pages, total_count = answer.total_pages, answer.total_count
            index += 1
        return True

    def by_names(
        self, params: Mapping[str, str], names: Collection[str], found: dict[str, LiveKey]
    ) -> None:
        for name in sorted(set(names)):
            named = {**params, "name": name}
            first = self.page(named, 0)
            matches: dict[str, LiveKey] = {}
            if not self.through(named, first, matches):
                self.complete = False
                self.notes.append(
                    f"more than {REACH:,} keys are named {name!r}; only the first "
                    f"{REACH:,} were read"
                )
            # Kept to exact names, whatever the server's filter matches.
            found.update({k: v for k, v in matches.items() if v.name == name})


def read_by_name(account: str, name: str, *, fetch: FetchPage) -> tuple[list[LiveKey], int]:
    """Keys of `account` named exactly `name`, and the requests it took."""
    listing = _Listing(account, fetch, None)
    found: dict[str, LiveKey] = {}
    listing.by_names(listing.base(), [name], found)
    return list(found.values()), listing.requests


def read_account(
    account: str,
    *,
    fetch: FetchPage,
    names: Collection[str] = (),
    progress: ProgressCallback | None = None,
) -> AccountKeys:
    """Every key of `account` that paging can reach, and each declared name beyond it."""
    listing = _Listing(account, fetch, progress)
    base = listing.base()
    first = listing.page(base, 0)
    found: dict[str, LiveKey] = {}
    if first.total_count <= REACH:
        listing.through(base, first, found)
        return _result(listing, found)

    listing.notes.append(
        f"the account holds {first.total_count:,} keys, more than the {REACH:,} one filter "
        "reaches; enabled and disabled keys were read separately"
    )
    for enabled in ("true", "false"):
        part = {**base, "enabled": enabled}
        part_first = listing.page(part, 0)
        if part_first.total_count <= REACH:
            listing.through(part, part_first, found)
            continue
        state = "enabled" if enabled == "true" else "disabled"
        paged: dict[str, LiveKey] = {}
        listing.through(part, part_first, paged)
        found.update(paged)
        before = listing.requests
        listing.by_names(part, names, found)
        beyond = max(part_first.total_count - len(paged), 0)
        listing.complete = False
        listing.notes.append(
            f"{part_first.total_count:,} {state} keys are more than one filter reaches: "
            f"the first {len(paged):,} were paged and the {len(set(names)):,} declared "
            f"names looked up one by one ({listing.requests - before:,} requests); up to "
            f"{beyond:,} {state} keys beyond reach and not declared could not be listed"
        )
    return _result(listing, found)


def _result(listing: _Listing, found: dict[str, LiveKey]) -> AccountKeys:
    return AccountKeys(
        account=listing.account,
        keys=list(found.values()),
        requests=listing.requests,
        complete=listing.complete,
        notes=listing.notes,
    )
