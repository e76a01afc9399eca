"""The one place that knows Infobip's paging: every key of an account in the fewest pages.

A filter pages 100 keys at a time through pages 0…100, so from one end it reaches 10,100
keys. Paging the same filter in descending order as well reaches 10,100 from the other end,
so an account of up to 20,200 keys is read in ceil(N/100) requests, as a smaller one is.
A larger account is read as two filters (`enabled=true`, `enabled=false`), each from both
ends. A part still too large is swept in other orders (by name, then by validity), each
sweep going on while its pages bring keys not seen yet, as long as enough declared names are
still missing for a sweep to cost less than looking them up; the declared names still
missing after that are looked up one by one (`name=`), so that every declared key is found
even where no paging reaches. What no filter reaches, and no manifest declares, cannot be
listed: the result says so. A declared name whose own keys are too many to read fails the
read: the plan would otherwise create or forget a key it could not see.

The server is not trusted to end: a filter never goes past page 100, and an ascending page
that only repeats keys already read stops the listing with a TransportError.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from infobip_iac.domain.keys import CALLER_ACCOUNT, LiveKey
from infobip_iac.errors import BadRequestError, TransportError
from infobip_iac.infobip.api import AccountKeys, ProgressCallback
from infobip_iac.infobip.wire import MAX_PAGE_INDEX, PAGE_SIZE, KeyPage

__all__ = ["BOTH_ENDS", "REACH", "FetchPage", "read_account", "read_by_name"]

REACH = (MAX_PAGE_INDEX + 1) * PAGE_SIZE  # 10,100 keys: one filter paged from one end
BOTH_ENDS = 2 * REACH  # 20,200 keys: one filter paged from both ends
_OPERATION = "list API keys"

# Orders that reach keys the id order leaves in the middle of a huge part: names and
# creation times bear no relation to Infobip's ids. (orderBy values the API accepts; a server
# that refuses one is simply not swept in it.)
_SWEEP_ORDERS = ("name", "validFrom", "validTo")
# A sweep costs up to 101 requests; below this many missing names, lookups cost less.
_SWEEP_WORTHWHILE = MAX_PAGE_INDEX + 1
# A sweep stops after this many pages in a row bring nothing new: an order that follows one
# already read (validTo after validFrom) is dropped within a few requests, while a useful one
# finding a few keys a page is not cut short by one unlucky page.
_DRY_PAGES = 3

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
        # Counted before the answer: a refused request costs a read of the budget too.
        self.requests += 1
        answer = self.fetch({**params, "page": str(index)})
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

    def sweep(self, params: Mapping[str, str], total: int, found: dict[str, LiveKey]) -> None:
        """Page `params` (an order) while its pages bring keys not in `found` yet, until
        `found` holds `total` keys or paging runs out of reach."""
        dry = 0
        for index in range(MAX_PAGE_INDEX + 1):
            if len(found) >= total:
                return
            answer = self.page(params, index)
            fresh = [key for key in answer.keys if key.id not in found]
            for key in fresh:
                found[key.id] = key
            dry = 0 if fresh else dry + 1
            if dry >= _DRY_PAGES or len(answer.keys) < PAGE_SIZE:
                return

    def whole(self, params: Mapping[str, str], first: KeyPage) -> dict[str, LiveKey]:
        """Every key of one filter that paging reaches from its two ends."""
        found: dict[str, LiveKey] = {}
        if self.through(params, first, found):
            return found
        # The far end, newest ids first, until the two ends meet.
        self.expect(-(-(first.total_count - len(found)) // PAGE_SIZE) + 1)
        self.sweep({**params, "orderDirection": "desc"}, first.total_count, found)
        return found

    def beyond_both_ends(
        self,
        params: Mapping[str, str],
        total: int,
        found: dict[str, LiveKey],
        names: set[str],
        *,
        sweep_all: bool = False,
    ) -> str:
        """Find the declared `names` of a part larger than two ends reach: sweeps in other
        orders while they pay (with `sweep_all`, while they bring keys at all), then lookups
        by name; returns what was done, for the note."""
        before = self.requests
        swept: list[str] = []
        missing = names - {key.name for key in found.values()}
        for order in _SWEEP_ORDERS:
            if (len(missing) <= _SWEEP_WORTHWHILE and not sweep_all) or len(found) >= total:
                break
            try:
                for direction in ("asc", "desc"):
                    ordered = {**params, "orderBy": order, "orderDirection": direction}
                    self.sweep(ordered, total, found)
            except BadRequestError:
                continue  # this server does not order by it
            swept.append(order)
            missing = names - {key.name for key in found.values()}
        self.by_names(params, missing, found)
        done = "paged by id from both ends" + (f", then by {', '.join(swept)}" if swept else "")
        return (
            f"{done}; {len(missing):,} declared names still missing were looked up one by one "
            f"({self.requests - before:,} requests after the id pages)"
        )

    def by_names(
        self, params: Mapping[str, str], names: Collection[str], found: dict[str, LiveKey]
    ) -> None:
        for name in sorted(set(names)):
            named = {**params, "name": name}
            first = self.page(named, 0)
            matches: dict[str, LiveKey] = {}
            # A name whose keys cannot all be read leaves unknown whether the key the
            # plan looks for exists: planning it as missing (a create) or gone (dropped
            # from state) would act on what was not read, so the read fails instead.
            if first.total_count > REACH or not self.through(named, first, matches):
                raise TransportError(
                    f"Infobip claims {first.total_count:,} keys named {name!r}, more than "
                    f"the {REACH:,} paging can read, so whether the key of that name exists "
                    "cannot be told; nothing was planned. Rename or revoke keys of that name "
                    "in Infobip, or check INFOBIP_BASE_URL",
                    operation=_OPERATION,
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
    sweep_all: bool = False,
) -> AccountKeys:
    """Every key of `account` that paging can reach, and each declared name beyond it.
    `sweep_all` (for export, which knows no names) sweeps a part too large for both ends in
    every other order while the sweeps find keys."""
    listing = _Listing(account, fetch, progress)
    base = listing.base()
    first = listing.page(base, 0)
    if first.total_count <= BOTH_ENDS:
        return _result(listing, listing.whole(base, first))

    listing.notes.append(
        f"the account holds {first.total_count:,} keys, more than the {BOTH_ENDS:,} one "
        "filter reaches from both ends; enabled and disabled keys were read separately"
    )
    found: dict[str, LiveKey] = {}
    declared = set(names)
    for enabled in ("true", "false"):
        part = {**base, "enabled": enabled}
        part_first = listing.page(part, 0)
        total = part_first.total_count
        keys = listing.whole(part, part_first)
        if len(keys) < total:
            # Missing per part: a declared name found only among disabled keys may still
            # belong to an enabled key beyond reach, which the plan must see.
            done = listing.beyond_both_ends(part, total, keys, declared, sweep_all=sweep_all)
            state = "enabled" if enabled == "true" else "disabled"
            beyond = max(total - len(keys), 0)
            note = f"{total:,} {state} keys are more than one filter reaches: {done}"
            if beyond:
                listing.complete = False
                note += (
                    f"; up to {beyond:,} {state} keys with no declared name missing could "
                    "not be listed"
                )
            listing.notes.append(note)
        found.update(keys)
    return _result(listing, found)


def _result(listing: _Listing, found: dict[str, LiveKey]) -> AccountKeys:
    return AccountKeys(
        account=listing.account,
        keys=list(found.values()),
        requests=listing.requests,
        complete=listing.complete,
        notes=listing.notes,
    )
