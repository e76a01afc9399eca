"""Build `infobip_iac/scopes/catalog.json` from Infobip's scope documentation (dev tool, run once).

The package never reads the seeds: they are not shipped. This script turns them into the
committed JSON, adding a one-line description of every scope written for this project.

    python tools/build_scope_catalog.py            # rewrite the catalog
    python tools/build_scope_catalog.py --check    # exit 1 if the committed file is stale

Sources, in `tests/data/infobip/seeds/` (vendored) unless `--seeds` says otherwise:
- `002_…` (newest, authoritative): every scope by category and the role → scopes table.
- `003_…`: the channel scopes grouped by product.
The older `000_`/`001_` role tables differ (e.g. they list `moments:manage`) and are ignored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = REPO / "tests" / "data" / "infobip" / "seeds"
CATALOG = REPO / "infobip_iac" / "scopes" / "catalog.json"
SCOPES_SEED = "002_"
PRODUCTS_SEED = "003_"

FORMAT_VERSION = 1
SDK_CATEGORY = "Client-side SDK"

# Seed 002 names this scope among the main scope types but leaves it out of its tables; it is
# a client-side SDK scope like web:sdk.
PROSE_ONLY_SCOPES = {"mobile-app-messaging:sdk": SDK_CATEGORY}

# Seed 003 lumps several products under "Other Channels"; each gets its own product here so
# that `scopes list --product` finds them by name.
OTHER_CHANNELS = "Other Channels"
PRODUCT_OF_PREFIX = {
    "mobile-app-messaging": "Mobile App Messaging",
    "web-push": "Web Push",
    "live-chat": "Live Chat",
    "numbermasking": "Number Masking",
    "markuplanguage": "Markup Language",
    "rbm-maap": "RBM MaaP",
    "omni-failover": "Omnichannel Failover",
    "google-bm": "Google Business Messages",
}

# The coverage rules the seeds state, as data the catalog module interprets:
# an umbrella scope covers every `<prefix>:<its own name>`; `<prefix>:manage` covers every
# other scope of that prefix.
UMBRELLA_SCOPES = ["inbound-message:read", "message:send"]
PRODUCT_MANAGE_ACTION = "manage"

# Our own one-line descriptions (not the seeds' wording).
DESCRIPTIONS: dict[str, str] = {
    # General
    "inbound-message:read": "Fetch messages received from end users on any channel.",
    "message:send": "Send outbound messages on any channel.",
    "partner-tools:access": "Use Infobip's partner tools; an internal scope without public docs.",
    # Channels: 2FA
    "2fa:manage": "Full use of the two-factor authentication (2FA) API.",
    "2fa:pin:manage": "Set up 2FA applications, PIN message templates and their settings.",
    "2fa:pin:send": "Send one-time PINs and verify them.",
    # Channels: Apple Messages for Business
    "apple-mfb:logs:read": "Read delivery logs of Apple Messages for Business traffic.",
    "apple-mfb:manage": "Full use of the Apple Messages for Business API.",
    "apple-mfb:message:send": "Send to iPhone users through Apple Messages for Business.",
    # Channels: Voice & WebRTC
    "calllink:configuration:manage": "Change the settings that call links are built from.",
    "calllink:link:manage": "Create, change and remove individual call links.",
    "calllink:manage": "Full use of the Call Link API.",
    "callrouting:manage": "Full use of the Call Routing API.",
    "calls:bulk:manage": "Launch, pause and control calls in bulk.",
    "calls:configuration:manage": "Change the configurations and settings of the Calls API.",
    "calls:logs:read": "Read the logs of calls made through the Calls API.",
    "calls:manage": "Full use of the Calls API.",
    "calls:media:manage": "Upload and manage audio files played during calls.",
    "calls:read": "Read call details and history of the Calls API.",
    "calls:recording:delete": "Remove call recordings.",
    "calls:recording:read": "List and download call recordings.",
    "calls:traffic:receive": "Answer and handle inbound calls.",
    "calls:traffic:record": "Start and stop recording calls in progress.",
    "calls:traffic:send": "Place outbound calls and act on calls in progress.",
    "clicktocall:manage": "Full use of the Click-to-Call API.",
    "voice-message:logs:read": "Read the logs of voice messages sent.",
    "voice-message:manage": "Full use of voice messages: sending, logs and settings.",
    "voice-message:message:send": "Send text-to-speech or recorded voice messages.",
    "voice-reports:read": "Read reports about voice traffic.",
    "voice:logs:read": "Read delivery reports of voice traffic.",
    "voice:recording:delete": "Remove voice recordings.",
    "voice:recording:manage": "Manage voice recordings: list, download, remove.",
    "voice:recording:read": "List and download voice recordings.",
    "webrtc:configuration:manage": "Change WebRTC application settings.",
    "webrtc:identity:manage": "Issue and manage the identities WebRTC users connect with.",
    "webrtc:manage": "Full use of the WebRTC API.",
    "webrtc:media:manage": "Manage media files used in WebRTC sessions.",
    # Channels: Email
    "email:logs:read": "Read logs and delivery reports of email sent.",
    "email:manage": "Full use of the Email API.",
    "email:message:send": "Send email.",
    "email:templates:manage": "Create, change and remove email templates.",
    # Channels: Google Business Messages
    "google-bm:logs:read": "Read delivery logs of Google Business Messages traffic.",
    "google-bm:manage": "Full use of the Google Business Messages API.",
    "google-bm:message:send": "Send through Google Business Messages.",
    # Channels: Instagram
    "instagram:logs:read": "Read delivery logs of Instagram traffic.",
    "instagram:manage": "Full use of the Instagram messaging API.",
    "instagram:message:send": "Send Instagram direct messages.",
    # Channels: IVR
    "ivr:configuration:manage": "Create and change IVR scenarios and their settings.",
    "ivr:manage": "Full use of the IVR API, its scenarios included.",
    "ivr:message:send": "Start outbound IVR calls from a scenario.",
    # Channels: KakaoTalk
    "kakao:logs:read": "Read delivery logs of KakaoTalk traffic.",
    "kakao:manage": "Full use of the KakaoTalk messaging API.",
    "kakao:message:send": "Send KakaoTalk messages.",
    # Channels: LINE
    "line:manage": "Full use of the LINE messaging API.",
    "line:message:send": "Send to LINE users.",
    # Channels: Live Chat
    "live-chat:manage": "Configure Live Chat and work with its sessions.",
    # Channels: Messenger
    "messenger:logs:read": "Read delivery logs of Facebook Messenger traffic.",
    "messenger:manage": "Full use of the Facebook Messenger API.",
    "messenger:message:send": "Send Facebook Messenger messages.",
    # Channels: MMS
    "mms:inbound-message:read": "Fetch MMS received from end users.",
    "mms:logs:read": "Read logs and delivery reports of MMS sent.",
    "mms:manage": "Full use of the MMS API.",
    "mms:message:send": "Send MMS.",
    # Channels: Mobile App Messaging
    "mobile-app-messaging:inbound-message:read": "Fetch messages that app users send back.",
    "mobile-app-messaging:logs:read": "Read delivery logs of push and in-app messages.",
    "mobile-app-messaging:manage": "Full use of Mobile App Messaging, sending included.",
    "mobile-app-messaging:send": "Send push notifications and in-app messages to apps.",
    # Channels: Number Masking, Markup Language
    "numbermasking:manage": "Full use of the Number Masking API.",
    "markuplanguage:manage": "Full use of the Markup Language API.",
    # Channels: Omnichannel failover
    "omni-failover:logs:read": "Read logs of messages sent with channel failover.",
    "omni-failover:manage": "Full use of the omnichannel failover API.",
    "omni-failover:message:send": "Send messages that fall back to another channel on failure.",
    # Channels: RBM MaaP
    "rbm-maap:manage": "Full use of the RBM MaaP API.",
    "rbm-maap:message:send": "Send rich business messages through RBM MaaP.",
    # Channels: RCS
    "rcs:logs:read": "Read delivery logs of RCS traffic.",
    "rcs:manage": "Full use of the RCS API.",
    "rcs:message:send": "Send RCS rich messages.",
    "rcs:provision": "Register and provision RCS agents.",
    # Channels: SMS
    "sms:inbound-message:read": "Fetch SMS received from end users.",
    "sms:logs:read": "Read logs and delivery reports of SMS sent.",
    "sms:manage": "Full use of the SMS API.",
    "sms:message:send": "Send SMS.",
    # Channels: TikTok
    "tiktok:logs:read": "Read delivery logs of TikTok Business Messaging traffic.",
    "tiktok:manage": "Full use of the TikTok Business Messaging API.",
    "tiktok:message:send": "Send TikTok Business Messaging messages.",
    # Channels: Viber
    "viber-bm:logs:read": "Read delivery logs of Viber Business Messages traffic.",
    "viber-bm:manage": "Full use of the Viber Business Messages API.",
    "viber-bm:message:send": "Send to Viber users as a business.",
    "viber-bot:logs:read": "Read delivery logs of Viber bot traffic.",
    "viber-bot:manage": "Full use of the Viber bot API.",
    "viber-bot:message:send": "Send messages as a Viber bot.",
    # Channels: Web Push
    "web-push:manage": "Full use of web push notifications and their settings.",
    "web-push:send": "Send web push notifications to browsers.",
    # Channels: WhatsApp
    "whatsapp:conversions": "Report conversion events through the WhatsApp Conversions API.",
    "whatsapp:inbound-message:read": "Fetch WhatsApp messages received from end users.",
    "whatsapp:logs:read": "Read delivery logs of WhatsApp traffic.",
    "whatsapp:manage": "Full use of the WhatsApp API.",
    "whatsapp:message:send": "Send to WhatsApp users.",
    # Channels: Zalo
    "zalo-follower:logs:read": "Read delivery logs of messages to Zalo followers.",
    "zalo-follower:manage": "Full use of the Zalo follower messaging API.",
    "zalo-follower:message:send": "Send messages to Zalo followers.",
    "zalo:logs:read": "Read delivery logs of Zalo traffic.",
    "zalo:manage": "Full use of the Zalo API.",
    "zalo:message:send": "Send Zalo notification messages.",
    # Client-side SDK
    "2fa:sdk": "2FA calls made from a client-side SDK; allows no other scope beside it.",
    "mobile-app-messaging:sdk": "Mobile push calls made from the client-side mobile SDK only.",
    "web:sdk": "People and People-event calls made from the client-side Web SDK.",
    "web:tracking:sdk": "Track website visitors from the Web SDK.",
    # Connectivity
    "biometrics:manage": "Full use of the Biometrics API.",
    "mobile-identity:manage": "Run and configure Mobile Identity checks.",
    "number-activation-state:read": "Ask whether numbers are active (the Deact API).",
    "number-lookup:logs:read": "Read the logs of number lookups done.",
    "number-lookup:manage": "Full use of the Number Lookup API.",
    "number-lookup:send": "Look up phone numbers.",
    # Customer Engagement
    "ai:agents:manage": "Create, change and remove AI agents.",
    "ai:agents:query": "Ask AI agents questions and receive their answers.",
    "ai:agents:view": "See AI agents and how they are set up.",
    "ai:read": "Read information about the AI tools.",
    "answers:manage": "Full use of the Answers chatbot API.",
    "answers:testing": "Exercise chatbots through the testing API.",
    "campaign-tags:manage": "Create, change and assign campaign tags.",
    "campaign-tags:view": "See campaign tags and where they are assigned.",
    "content-messages:manage": "Full use of the Content Messages API.",
    "content-messages:read": "Read content messages with their details and analytics.",
    "conversations:manage": "Full use of the Conversations API.",
    "conversations:read": "Read conversations and their details without changing them.",
    "flow:control": "Launch, stop and cancel Moments flows.",
    "flow:manage": "Create and change Moments flows.",
    "flow:read": "Read Moments flows with their participants and analytics.",
    "flow:use": "Add participants to Moments flows that exist.",
    "forms:manage": "Full use of the Forms API.",
    "forms:read": "Read forms with their submissions and events.",
    "forms:use": "Submit data and events to forms.",
    "insights:read": "Read insights and recommendations.",
    "knowledge-base:manage": "Create, change and remove Knowledge Base content.",
    "knowledge-base:read": "Read Knowledge Base articles without changing them.",
    "onboarding:manage": "Embed Answers inside third-party integrations.",
    "people:manage": "Full use of the People API.",
    "people:read": "Read People profiles and data without changing them.",
    "people:use": "Push events into People.",
    "saas:integrations:manage": "Set up and manage SaaS integrations.",
    "saas:tiktok-ads:manage": "Manage TikTok Ads click-to-message integrations.",
    # Platform
    "account-management:manage": "Manage the account itself: settings, users, API keys.",
    "application-entity:manage": "Manage CPaaS X applications and entities.",
    "audit-logs:read": "Read and export the account's audit logs.",
    "blocklist:manage": "Full use of the Blocklist API.",
    "catalogs:manage": "Full use of the Catalogs API.",
    "catalogs:read": "Read catalogs and their metadata.",
    "catalogs:use": "Read, add, change and remove the items of catalogs.",
    "error-codes:read": "Look up what platform error codes mean.",
    "messages-api:manage": "Full use of the Messages API.",
    "messages-api:message:send": "Send on any channel through the Messages API.",
    "metrics:manage": "Query and manage traffic metrics through the Metrics API.",
    "number-risk-score:manage": "Full use of the Number Risk Score API.",
    "numbers:manage": "Full use of the Numbers API.",
    "numbers:recording:manage": "Turn call recording on or off for numbers.",
    "resource-request-hub:manage": "File and update resource requests and follow them.",
    "resource-request-hub:read": "Follow the status of resource requests.",
    "sending-strategy:manage": "Set up sending strategies and their rules.",
    "signals:manage": "Full use of the Signals API.",
    "subscriptions:manage": "Manage webhook subscriptions (the Subscriptions API).",
}


class SeedError(Exception):
    """The seeds do not have the shape this script expects."""


def find_seed(seeds: Path, prefix: str) -> Path:
    matches = sorted(seeds.glob(f"{prefix}*.txt"))
    if len(matches) != 1:
        raise SeedError(f"expected one seed {prefix}*.txt in {seeds}, found {len(matches)}")
    return matches[0]


def _table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_scope_tables(text: str) -> dict[str, tuple[str, str]]:
    """Scope -> (category, the seed's description) from the `##### <Category>` tables."""
    scopes: dict[str, tuple[str, str]] = {}
    category: str | None = None
    for line in text.splitlines():
        heading = re.match(r"^#####\s+(.+?)\s*$", line)
        if heading:
            category = heading.group(1)
            continue
        if line.startswith("#"):
            category = None
            continue
        if category is None or not line.startswith("|"):
            continue
        cells = _table_cells(line)
        if len(cells) != 2 or cells[0] == "SCOPE" or set(cells[0]) <= {"-", " "}:
            continue
        name, description = cells
        if name in scopes:
            raise SeedError(f"scope {name} listed twice")
        scopes[name] = (category, description)
    return scopes


def parse_role_table(text: str) -> dict[str, list[str]]:
    """Role -> its scopes, from the `| ROLE | SCOPES |` table."""
    roles: dict[str, list[str]] = {}
    inside = False
    for line in text.splitlines():
        if not line.startswith("|"):
            if inside:
                break
            continue
        cells = _table_cells(line)
        if cells == ["ROLE", "SCOPES"]:
            inside = True
            continue
        if not inside or set(cells[0]) <= {"-", " "}:
            continue
        name, listed = cells
        roles[name] = [scope.strip() for scope in listed.split(",") if scope.strip()]
    if not roles:
        raise SeedError("no role table found")
    return roles


def parse_channel_products(text: str) -> dict[str, str]:
    """Channel scope -> product, from the `### <Product>` groups of seed 003."""
    products: dict[str, str] = {}
    product: str | None = None
    in_channels = False
    for line in text.splitlines():
        if line.startswith("## "):
            in_channels = "(Channels)" in line
            product = None
            continue
        heading = re.match(r"^###\s+(.+?)\s*$", line)
        if heading:
            product = heading.group(1) if in_channels else None
            continue
        if product is None:
            continue
        row = re.match(r"^\|\s*`([a-z0-9:-]+)`\s*\|", line)
        if row:
            products[row.group(1)] = product
    return products


def _product_for(name: str, category: str, channel_products: dict[str, str]) -> str | None:
    if category != "Channels":
        return None
    prefix = name.split(":", 1)[0]
    product = channel_products.get(name)
    if product is None:
        # A channel scope newer than seed 003 (rcs:provision): its siblings name the product.
        siblings = {p for s, p in channel_products.items() if s.split(":", 1)[0] == prefix}
        if len(siblings) != 1:
            raise SeedError(f"no product known for channel scope {name}")
        product = siblings.pop()
    if product == OTHER_CHANNELS:
        if prefix not in PRODUCT_OF_PREFIX:
            raise SeedError(f"no product name for {name} (seed says {OTHER_CHANNELS!r})")
        return PRODUCT_OF_PREFIX[prefix]
    return product


def _normalized_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _seed_descriptions(*texts: str) -> Iterator[str]:
    for text in texts:
        for line in text.splitlines():
            cells = _table_cells(line) if line.startswith("|") else []
            if len(cells) == 2:
                yield _normalized_words(cells[1])


def build_catalog(seeds: Path) -> dict[str, Any]:
    scopes_text = find_seed(seeds, SCOPES_SEED).read_text(encoding="utf-8")
    products_text = find_seed(seeds, PRODUCTS_SEED).read_text(encoding="utf-8")
    tables = parse_scope_tables(scopes_text)
    roles = parse_role_table(scopes_text)
    channel_products = parse_channel_products(products_text)

    categories = {name: category for name, (category, _) in tables.items()}
    for name, category in PROSE_ONLY_SCOPES.items():
        if name in categories:
            raise SeedError(f"{name} is now in the tables; drop it from PROSE_ONLY_SCOPES")
        if name not in scopes_text:
            raise SeedError(f"{name} is no longer mentioned by the seed")
        categories[name] = category

    missing = sorted(set(categories) - set(DESCRIPTIONS))
    extra = sorted(set(DESCRIPTIONS) - set(categories))
    if missing or extra:
        raise SeedError(f"descriptions missing for {missing}; for unknown scopes {extra}")
    copied = set(_seed_descriptions(scopes_text, products_text))
    repeated = sorted(n for n, d in DESCRIPTIONS.items() if _normalized_words(d) in copied)
    if repeated:
        raise SeedError(f"descriptions that repeat the seeds' wording, to reword: {repeated}")

    for role, members in roles.items():
        unknown = sorted(set(members) - set(categories))
        if unknown:
            raise SeedError(f"role {role} implies scopes absent from the tables: {unknown}")

    return {
        "format": FORMAT_VERSION,
        "sources": [find_seed(seeds, SCOPES_SEED).name, find_seed(seeds, PRODUCTS_SEED).name],
        "categories": sorted(set(categories.values())),
        "coverage": {
            "umbrella_scopes": UMBRELLA_SCOPES,
            "product_manage_action": PRODUCT_MANAGE_ACTION,
            "sdk_category": SDK_CATEGORY,
        },
        "scopes": [
            {
                "name": name,
                "category": category,
                "product": _product_for(name, category, channel_products),
                "description": DESCRIPTIONS[name],
                "sdk": category == SDK_CATEGORY,
            }
            for name, category in sorted(categories.items())
        ],
        "roles": [
            {"name": role, "scopes": sorted(set(members))}
            for role, members in sorted(roles.items())
        ],
    }


def render(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--out", type=Path, default=CATALOG)
    parser.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    args = parser.parse_args(argv)
    try:
        text = render(build_catalog(args.seeds))
    except (SeedError, OSError) as error:
        print(f"build_scope_catalog: {error}", file=sys.stderr)
        return 2
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(
                f"{args.out.name} is out of date; run tools/build_scope_catalog.py", file=sys.stderr
            )
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text)['scopes'])} scopes to {args.out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
