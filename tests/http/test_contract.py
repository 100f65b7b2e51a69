"""OpenAPI contract test: schemathesis generates requests for every operation of openapi.yaml and
sends them over real HTTP to the real app, which runs on its own event loop in a background
thread. Every schemathesis check runs: every response must be documented (no 5xx; a status
code, content type, headers and body that match the operation's responses), every request the
spec forbids must be refused and every one it allows taken (but for the state-dependent rules in
RULES), a missing required header refused, an undeclared method answered 405, and every success
made with a real key or delete token must turn into 401 or 403 when schemathesis sends it again
without one or with an invalid one (`ignored_auth`).

A seeded site (posts, a thread with nested replies and a tombstone, a deleted post, keys of every
role, and a second site) lets most cases hit existing resources with a key that may act, and the
rest the error paths: another site's key, the wrong role, no key, deleted or unknown resources.
Fuzzed cases draw these targets through a `flatmap_case` hook, so Hypothesis chooses them. The
coverage phase builds its cases at collection time, before anything is seeded; the test body
points those at the seeded resources, except the parameter a coverage scenario is about.
Deleting a post or a comment gets a fresh one made just before the call, so the seeded thread
stays intact and the success path is taken every time.
"""

import asyncio
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import strategies as st
from schemathesis import Case, HookContext
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from service.access import credentials
from service.app import create_app
from service.http.problem_types import PROBLEM_TYPES
from service.settings import Settings
from service.subscriptions.mail import links
from tests.builders import SiteKeys, make_group, make_site

ROOT = Path(__file__).resolve().parents[2]

# Refusals of schema-valid requests by rules that no JSON Schema can express: they depend on
# state (a deleted post, a parent on another post, a reused idempotency key) or on the world (a
# webhook URL that resolves to a private address). openapi.yaml documents each response; the
# `positive_data_acceptance` check lets the operation answer these statuses, and the test
# checks that each such answer is the documented problem and no other (`(slug, field)`, the
# field for a 422 that names one).
RULES: dict[str, dict[int, set[tuple[str, str | None]]]] = {
    "get_post": {410: {("post-deleted", None)}},
    "delete_post": {410: {("post-deleted", None)}},
    "get_thread": {410: {("post-deleted", None)}},
    "get_post_feed": {410: {("post-deleted", None)}},
    # A label with a NUL (which no label can hold) is refused.
    "get_label_feed": {400: {("bad-request", None)}},
    "get_group_label_posts": {400: {("bad-request", None)}},
    "close_thread": {410: {("post-deleted", None)}},
    "reopen_thread": {410: {("post-deleted", None)}},
    "post_comment": {
        410: {("post-deleted", None)},
        422: {
            ("parent-not-found", None),
            ("reply-too-deep", None),
            ("banned-word", None),
            ("idempotency-key-reused", None),
        },
    },
    # The choices send a label with a NUL byte, which the spec's plain string allows.
    "get_label_posts": {400: {("bad-request", None)}},
    "post_ban": {422: {("validation-failed", "expires_at")}},
    "post_webhook": {422: {("validation-failed", "url")}},
    "patch_webhook": {422: {("validation-failed", "url")}},
}
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis' default
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
# An invalid request may also be refused as too large (413, before its body is read) or for a
# post that is gone (410): refusals still, each documented where it can come.
REFUSED += ["410", "413"]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240601,
        "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": True, "negative_data_rejection": {"expected-statuses": REFUSED}},
        "operations": [
            {
                "include-operation-id": operation,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ACCEPTED + [str(status) for status in statuses]
                    }
                },
            }
            for operation, statuses in RULES.items()
        ],
    }
)
# A streaming response never ends, so this test cannot read it; tests/http/test_stream.py does.
STREAMING = ["get_event_stream", "get_comment_stream"]  # the second: tests/http/test_live.py
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=CONFIG).exclude(
    operation_id=STREAMING
)

SPEC_OPERATIONS = {
    operation["operationId"]
    for path_item in schema.raw_schema["paths"].values()
    for method, operation in path_item.items()
    if method in ("get", "put", "post", "delete", "patch") and not operation.get("x-streaming")
}
TEST_NAME = "test_operation_conforms_to_the_contract"

# Symbolic choices drawn by the strategies; `apply` and `resolve` turn them into real values.
KEEP = "<keep what schemathesis generated>"
ABSENT = "<leave it out>"
FRESH = "<create one just before the call>"
UNUSED = "<an id nobody used yet>"
OWN_TOKEN = "<the delete token of the comment being deleted>"
FRESH_HELD = "<a held comment created just before the call>"
FRESH_DELETED = "<a deleted comment created just before the call>"
FRESH_BAN = "<a ban made just before the call>"
BAN_COMMENT = "<a comment on the ban site, made just before the call>"
# Valid as it stands (schemathesis checks the case again after the hooks), so still a positive
# case when `resolve` turns it into a comment made just before the call, with its token.
OWN_COMMENTS = "own-comment-made-before-the-call"
READER_EMAIL = "reader@mail.example"


@dataclass
class World:
    """What the seed created; known only once the fixtures ran."""

    base_url: str
    keys: SiteKeys
    other: SiteKeys
    main_post: str = "main"
    updatable_post: str = "updatable"
    other_post: str = "other"
    deleted_post: str = "deleted"
    comments: tuple[str, ...] = ()
    tombstone: str = ""
    gone: str = ""
    foreign_comment: str = ""
    thread_cursor: str = ""
    label_cursor: str = ""
    event_cursor: str | None = None
    webhook: str = ""
    # Moderation: settings change on a site of their own, bans on another, so neither can
    # refuse or hold the comments the other operations need; one post is closed and reopened.
    settings_site: SiteKeys | None = None
    ban_site: SiteKeys | None = None
    closable_post: str = "closable"
    ban_post: str = "ban-post"
    # A reader's unsubscribe link (it never expires and may be followed again).
    mail_link: str = ""
    # A group of the main site and the other one.
    group: str = ""

    def __post_init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def credentials(self) -> set[str]:
        """Every key (as its `Authorization` value) and delete token the seed made."""
        sites = (self.keys, self.other, self.settings_site, self.ban_site)
        keys = {
            bearer(getattr(site, role))
            for site in sites
            if site is not None
            for role in ("publisher", "moderator", "subscriber")
        }
        return keys | set(self.tokens.values())


WORLD: World | None = None
SEEN: dict[str, Counter[int]] = {}
REPLAYED: list[str] = []


def weighted(*choices: tuple[int, Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([value for weight, value in choices for _ in range(weight)])


def bearer(key: str) -> str:
    return f"Bearer {key}"


def operation_id(case: Case[Any]) -> str:
    name: str = case.operation.definition.raw["operationId"]
    return name


def choices_for(operation: str, world: World) -> dict[str, st.SearchStrategy[Any]]:
    """What to draw per operation: mostly existing resources and the right key, sometimes the
    wrong ones (other site, deleted, unknown, wrong role, no key) to reach the error statuses."""
    keys, other = world.keys, world.other
    site = weighted((8, keys.site), (1, other.site), (1, KEEP))
    labels = weighted(
        (5, "news"),
        (2, "contract"),
        (1, "Ünïcode label"),
        *[(1, odd) for odd in (" News ", "a/b", "100%", "?#", "\x00")],
        (3, KEEP),
    )
    match operation:
        case "put_post":
            return {
                "site": site,
                "post": weighted(
                    (3, world.updatable_post), (2, UNUSED), (2, KEEP), (1, world.deleted_post)
                ),
                "scrub": st.booleans(),
                "authorization": weighted(
                    (4, bearer(keys.publisher)),
                    (3, bearer(keys.moderator)),
                    (1, bearer(keys.subscriber)),
                    (1, bearer(other.publisher)),
                    (1, ABSENT),
                    (1, KEEP),
                ),
            }
        case "get_post":
            posts = (world.main_post, world.other_post, world.deleted_post)
            return {"site": site, "post": weighted((6, posts[0]), (2, posts[1]), (1, posts[2]))}
        case "delete_post":
            return {
                "site": site,
                "post": weighted((6, FRESH), (1, world.deleted_post), (1, KEEP)),
                "authorization": weighted(
                    (6, bearer(keys.moderator)),
                    (1, bearer(keys.publisher)),
                    (1, bearer(other.moderator)),
                    (1, ABSENT),
                    (1, KEEP),
                ),
            }
        case "post_comment":
            parents = (world.tombstone, world.gone, world.foreign_comment, *world.comments)
            return {
                "site": site,
                "post": weighted((7, world.main_post), (1, world.deleted_post), (1, KEEP)),
                "parent_id": weighted((2, KEEP), (3, None), *[(1, parent) for parent in parents]),
                "idempotency_key": weighted((3, KEEP), (3, ABSENT), (4, FRESH)),
                "scrub": st.booleans(),
            }
        case "get_thread":
            return {
                "site": site,
                "post": weighted((8, world.main_post), (1, world.deleted_post), (1, KEEP)),
                "cursor": weighted((5, ABSENT), (3, world.thread_cursor), (2, KEEP)),
                "if_none_match": weighted((5, ABSENT), (2, "*"), (1, '"stale"'), (2, KEEP)),
            }
        case "delete_comment":
            return {
                "site": site,
                "comment": weighted((7, FRESH), (1, world.tombstone), (1, world.gone), (1, KEEP)),
                "delete_token": weighted(
                    (5, OWN_TOKEN), (1, world.tokens[world.comments[0]]), (3, ABSENT), (1, KEEP)
                ),
                "authorization": weighted(
                    (5, ABSENT),
                    (3, bearer(keys.moderator)),
                    (1, bearer(keys.publisher)),
                    (1, bearer(other.moderator)),
                ),
            }
        case "get_labels" | "get_site_feed" | "get_recent_comments":
            return {"site": site}
        case "get_label_posts" | "get_label_feed":
            return {
                "site": site,
                "label": labels,
                "cursor": weighted((5, ABSENT), (3, world.label_cursor), (2, KEEP)),
            }
        case "get_post_feed":
            return {
                "site": site,
                "post": weighted((8, world.main_post), (1, world.deleted_post), (1, KEEP)),
                "if_none_match": weighted((5, ABSENT), (2, "*"), (1, '"stale"'), (2, KEEP)),
            }
        case (
            "get_group_recent_comments"
            | "get_group_feed"
            | "get_group_comments_feed"
            | "get_group_labels"
            | "get_group_label_posts"
        ):
            # No generated labels: schemathesis would check their percent-encoded length.
            seeded = weighted((5, "news"), (2, "contract"), (1, "Ünïcode label"), (1, "\x00"))
            return {"group": weighted((8, world.group), (2, KEEP)), "label": seeded}
        case "get_counts":
            seeded = [world.main_post, world.other_post, world.deleted_post]
            return {"site": site, "posts": weighted((3, KEEP), (7, seeded))}
        case "get_events":
            return {
                "authorization": weighted(
                    (4, bearer(keys.subscriber)),
                    (3, bearer(keys.moderator)),
                    (1, bearer(keys.publisher)),
                    (1, ABSENT),
                    (1, KEEP),
                ),
                "after": weighted((5, ABSENT), (3, world.event_cursor or ABSENT), (2, KEEP)),
            }
        case "post_webhook":
            url = weighted((8, WEBHOOK_URL), (2, KEEP))
            return {"authorization": moderator_mostly(world), "webhook_url": url}
        case "get_webhooks":
            return {"authorization": moderator_mostly(world)}
        case "post_webhook_secret":
            return {"authorization": moderator_mostly(world), "webhook": webhook_choice(world)}
        case "get_webhook" | "get_webhook_deliveries" | "post_webhook_replay" | "patch_webhook":
            return {
                "authorization": moderator_mostly(world),
                "webhook": webhook_choice(world),
                "webhook_url": weighted((8, WEBHOOK_URL), (2, KEEP)),
            }
        case "delete_webhook":
            return {
                "authorization": moderator_mostly(world),
                "webhook": weighted((6, FRESH), (1, UNUSED), (1, KEEP)),
            }
        case "get_mail_link" | "post_mail_link":
            return {"token": weighted((7, world.mail_link), (3, KEEP))}
        case "get_problem_type":
            return {"slug": weighted(*[(1, slug) for slug in sorted(PROBLEM_TYPES)], (8, KEEP))}
        case _:
            return moderation_choices(operation, world)


WEBHOOK_URL = "http://127.0.0.1:9/contract-hook"


def moderator_mostly(world: World) -> st.SearchStrategy[Any]:
    keys, other = world.keys, world.other
    return weighted(
        (6, bearer(keys.moderator)),
        (1, bearer(keys.subscriber)),
        (1, bearer(other.moderator)),
        (1, ABSENT),
        (1, KEEP),
    )


def webhook_choice(world: World) -> st.SearchStrategy[Any]:
    return weighted((7, world.webhook), (1, UNUSED), (2, KEEP))


def moderation_choices(operation: str, world: World) -> dict[str, st.SearchStrategy[Any]]:
    keys, other = world.keys, world.other
    assert world.settings_site is not None and world.ban_site is not None
    site = weighted((8, keys.site), (1, other.site), (1, KEEP))
    moderator = weighted(
        (7, bearer(keys.moderator)),
        (1, bearer(keys.publisher)),
        (1, bearer(other.moderator)),
        (1, ABSENT),
    )
    match operation:
        case "get_site_settings" | "patch_site_settings":
            settings_site = world.settings_site
            return {
                "site": weighted((8, settings_site.site), (1, other.site), (1, KEEP)),
                "authorization": weighted(
                    (7, bearer(settings_site.moderator)),
                    (1, bearer(settings_site.subscriber)),
                    (1, bearer(other.moderator)),
                    (1, ABSENT),
                ),
                "scrub": st.booleans(),
            }
        case "get_comment":
            return {
                "site": site,
                "comment": weighted(
                    (4, world.comments[0]), (2, FRESH_HELD), (1, world.gone), (1, KEEP)
                ),
                "delete_token": weighted((3, OWN_TOKEN), (5, ABSENT), (1, KEEP)),
                "authorization": weighted((3, bearer(keys.moderator)), (6, ABSENT), (1, KEEP)),
            }
        case "edit_comment":
            return {
                "site": site,
                "comment": weighted((8, FRESH), (1, world.gone), (1, KEEP)),
                "delete_token": weighted((7, OWN_TOKEN), (2, ABSENT), (1, KEEP)),
                "scrub": st.booleans(),
            }
        case "approve_comment" | "reject_comment" | "restore_comment":
            fresh = {
                "approve_comment": FRESH_HELD,
                "reject_comment": FRESH,
                "restore_comment": FRESH_DELETED,
            }[operation]
            return {
                "site": site,
                "comment": weighted((8, fresh), (1, world.gone), (1, KEEP)),
                "authorization": moderator,
                "scrub": st.booleans(),
            }
        case "post_report":
            return {
                "site": site,
                "comment": weighted((7, FRESH), (1, world.gone), (1, KEEP)),
                "scrub": st.booleans(),
            }
        case "post_moderation_actions" | "get_moderation_queue" | "get_audit" | "get_bans":
            return {"site": site, "authorization": moderator, "scrub": st.booleans()}
        case "post_ban" | "delete_ban":
            ban_site = world.ban_site
            return {
                "site": weighted((8, ban_site.site), (1, other.site), (1, KEEP)),
                "authorization": weighted(
                    (7, bearer(ban_site.moderator)),
                    (1, bearer(ban_site.publisher)),
                    (1, bearer(other.moderator)),
                    (1, ABSENT),
                ),
                "ban": weighted((8, FRESH_BAN), (2, KEEP)),
                "ban_comment": weighted((8, BAN_COMMENT), (2, KEEP)),
                "scrub": st.booleans(),
            }
        case "post_erasure" | "get_author_export":
            # By email: nobody of the seed wrote with one, so nothing seeded is erased.
            return {
                "site": site,
                "authorization": moderator,
                "email": weighted((6, READER_EMAIL), (4, KEEP)),
                "held": weighted((3, OWN_COMMENTS), (7, KEEP)),
            }
        case "post_author_export":
            return {"site": site, "held": weighted((7, OWN_COMMENTS), (3, KEEP))}
        case "close_thread" | "reopen_thread":
            return {
                "site": site,
                "post": weighted((7, world.closable_post), (1, world.deleted_post), (1, KEEP)),
                "authorization": moderator,
                "scrub": st.booleans(),
            }
    return {}


PATH_PARAMETERS = (
    "site", "post", "comment", "label", "ban", "webhook", "slug", "token", "group",
)  # fmt: skip
QUERY_PARAMETERS = ("cursor", "after")
HEADERS = {
    "authorization": "Authorization",
    "delete_token": "X-Delete-Token",
    "if_none_match": "If-None-Match",
    "idempotency_key": "Idempotency-Key",
}


def put(container: Any, name: str, value: Any) -> None:
    if value == ABSENT:
        container.pop(name, None)
    elif value != KEEP:
        container[name] = value


def negated(case: Case[Any]) -> set[tuple[str, str | None]]:
    """What a negative case made invalid, as (location, lower-case name); the name is None for
    a whole location (any body mutation, or a negative case that does not say which parameter).
    The choices leave these alone: overwritten with valid values, the case would be a valid one
    that schemathesis still expects to be refused (`negative_data_rejection`)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return set()
    data = meta.phase.data
    found = {(m.parameter_location, m.parameter) for m in data.mutations}
    found.add((data.parameter_location, data.parameter))
    targets: set[tuple[str, str | None]] = set()
    for location, name in found:
        if location is None or location == ParameterLocation.UNKNOWN:
            continue
        whole = location == ParameterLocation.BODY or name is None
        targets.add((location.value, None if whole else name.lower()))
    if not targets:
        for location, component in meta.components.items():
            if component.mode.is_negative:
                targets.add((location.value, None))
    return targets


def apply(case: Case[Any], chosen: dict[str, Any]) -> Case[Any]:
    """Write the drawn choices into the case, except over what a negative case is about."""
    invalid = negated(case)

    def free(location: str, name: str) -> bool:
        return not {(location, None), (location, name.lower())} & invalid

    path_parameters, query = dict(case.path_parameters or {}), dict(case.query or {})
    declared = case.operation.path
    for name in PATH_PARAMETERS:
        # Choices shared by two operations may name a parameter only one of them has.
        if name in chosen and f"{{{name}}}" in declared and free("path", name):
            put(path_parameters, name, chosen[name])
    for name in QUERY_PARAMETERS:
        if name in chosen and free("query", name):
            put(query, name, chosen[name])
    if chosen.get("posts", KEEP) != KEEP and free("query", "post"):
        generated = query.get("post")
        query["post"] = [*chosen["posts"], *(generated if isinstance(generated, list) else [])]
        query["post"] = query["post"][:100]
    for name, header in HEADERS.items():
        if name in chosen and free("header", header):
            put(case.headers, header, chosen[name])
    if not free("body", ""):
        case.path_parameters, case.query = path_parameters, query
        return case
    if chosen.get("scrub") and isinstance(case.body, dict):
        case.body = scrub(case.body)
    if "parent_id" in chosen and isinstance(case.body, dict):
        put(case.body, "parent_id", chosen["parent_id"])
    if "webhook_url" in chosen and isinstance(case.body, dict) and "url" in case.body:
        # A generated host rarely resolves; registration needs one that does.
        put(case.body, "url", chosen["webhook_url"])
    # A privacy body or email is replaced whole: only in a case that is valid as a whole.
    meta = case.meta
    whole = meta is None or (
        meta.generation.mode.is_positive
        and not any(part.mode.is_negative for part in meta.components.values())
    )
    if chosen.get("email", KEEP) != KEEP and whole:
        if case.operation.method.upper() == "GET":
            query["email"] = chosen["email"]
        elif isinstance(case.body, dict) and not invalid:
            case.body = {"email": chosen["email"]}
    if chosen.get("held", KEEP) != KEEP and isinstance(case.body, dict) and whole:
        case.body = {"comments": [{"comment_id": OWN_COMMENTS, "delete_token": "A" * 43}]}
    if chosen.get("ban_comment", KEEP) != KEEP and isinstance(case.body, dict):
        case.body["comment_id"] = chosen["ban_comment"]
        case.body.pop("expires_at", None)
    case.path_parameters, case.query = path_parameters, query
    return case


def scrub(value: Any) -> Any:
    """The value without control characters and blank strings. The service rejects those in
    titles, labels, names and bodies (422), which the spec's plain strings do not tell the
    generator, so without this almost every generated body with a few strings is refused and
    the success path is rarely taken."""
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        text = "".join(char for char in value if char.isprintable())
        return text if text.strip() else "x"
    return value


@schema.hook
def flatmap_case(context: HookContext, case: Case[Any]) -> st.SearchStrategy[Case[Any]]:
    world = WORLD
    if world is None:  # while collecting: the coverage phase's cases
        return st.just(case)
    choices = st.fixed_dictionaries(choices_for(operation_id(case), world))
    return choices.map(lambda chosen: apply(case, chosen))


# For the coverage phase's cases: a resource that exists and a key that may act.
COVERAGE_TARGETS: dict[str, dict[str, str]] = {
    "put_post": {"post": "updatable_post", "authorization": "publisher"},
    "get_post": {"post": "main_post"},
    "delete_post": {"post": FRESH, "authorization": "moderator"},
    "post_comment": {"post": "main_post"},
    "get_thread": {"post": "main_post"},
    "delete_comment": {"comment": FRESH, "authorization": "moderator"},
    "get_label_posts": {"label": "news"},
    # --- feeds, recent comments and groups ---
    "get_post_feed": {"post": "main_post"},
    "get_label_feed": {"label": "news"},
    "get_group_recent_comments": {"group": "group"},
    "get_group_feed": {"group": "group"},
    "get_group_comments_feed": {"group": "group"},
    "get_group_labels": {"group": "group"},
    "get_group_label_posts": {"group": "group", "label": "news"},
    "get_events": {"authorization": "subscriber"},
    # --- webhooks ---
    "post_webhook": {"authorization": "moderator", "webhook_url": WEBHOOK_URL},
    "get_webhooks": {"authorization": "moderator"},
    **{
        operation: {"webhook": "webhook", "authorization": "moderator", "webhook_url": WEBHOOK_URL}
        for operation in (
            "get_webhook",
            "patch_webhook",
            "get_webhook_deliveries",
            "post_webhook_replay",
            "post_webhook_secret",
        )
    },
    "delete_webhook": {"webhook": FRESH, "authorization": "moderator"},
    # --- moderation ---
    "get_site_settings": {"authorization": "moderator"},
    "patch_site_settings": {"authorization": "moderator"},
    "get_comment": {"comment": FRESH_HELD, "authorization": "moderator"},
    "edit_comment": {"comment": FRESH, "delete_token": OWN_TOKEN},
    "approve_comment": {"comment": FRESH_HELD, "authorization": "moderator"},
    "reject_comment": {"comment": FRESH, "authorization": "moderator"},
    "restore_comment": {"comment": FRESH_DELETED, "authorization": "moderator"},
    "post_report": {"comment": FRESH},
    "post_moderation_actions": {"authorization": "moderator"},
    "get_moderation_queue": {"authorization": "moderator"},
    "get_audit": {"authorization": "moderator"},
    "get_bans": {"authorization": "moderator"},
    "post_ban": {"authorization": "moderator", "ban_comment": BAN_COMMENT},
    "delete_ban": {"ban": FRESH_BAN, "authorization": "moderator"},
    "close_thread": {"post": "closable_post", "authorization": "moderator"},
    "reopen_thread": {"post": "closable_post", "authorization": "moderator"},
    # --- privacy ---
    "post_erasure": {"authorization": "moderator", "email": READER_EMAIL},
    "get_author_export": {"authorization": "moderator", "email": READER_EMAIL},
    # --- mail ---
    "get_mail_link": {"token": "mail_link"},
    "post_mail_link": {"token": "mail_link"},
}
# The site each operation's coverage cases act on, when not the main one.
COVERAGE_SITES = {
    "get_site_settings": "settings_site",
    "patch_site_settings": "settings_site",
    "post_ban": "ban_site",
    "delete_ban": "ban_site",
}


def target_coverage_case(case: Case[Any], world: World) -> None:
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE:
        return
    keys: SiteKeys = getattr(world, COVERAGE_SITES.get(operation_id(case), "keys"))
    chosen: dict[str, Any] = {"site": keys.site} if "site" in case.path_parameters else {}
    for name, target in COVERAGE_TARGETS.get(operation_id(case), {}).items():
        if name == "authorization":
            chosen[name] = bearer(getattr(keys, target))
        elif name == "delete_token":
            chosen[name] = target
        else:
            chosen[name] = getattr(world, target, target)
    if "Idempotency-Key" in case.headers:
        # Coverage cases all share one key; most would only get `idempotency-key-reused`.
        chosen["idempotency_key"] = FRESH
    # The parameter the scenario is about stays as generated (a moderator key would make a
    # malformed delete token moot).
    under_test = (meta.phase.data.parameter or "").lower().replace("-", "_")
    if under_test == "x_delete_token":
        chosen.pop("authorization", None)
    apply(case, {name: value for name, value in chosen.items() if name != under_test})


def resolve(case: Case[Any], api: "Api") -> None:
    """Turn the placeholders into real values, creating what a destructive case will delete."""
    parameters = case.path_parameters
    if parameters.get("post") == FRESH:
        parameters["post"] = api.publish(f"doomed-{secrets.token_hex(4)}")
    if parameters.get("post") == UNUSED:
        parameters["post"] = f"new-{secrets.token_hex(4)}"
    if parameters.get("webhook") == FRESH:
        parameters["webhook"] = api.register_webhook()
    if parameters.get("webhook") == UNUSED:
        parameters["webhook"] = str(uuid.uuid4())
    if parameters.get("comment") == FRESH:
        parameters["comment"] = api.comment(api.world.main_post, "to be deleted")["id"]
    if parameters.get("comment") == FRESH_HELD:
        # A filled honeypot holds a comment whatever the site's settings.
        held = api.comment(api.world.main_post, "held", honeypot="filled")
        parameters["comment"] = held["id"]
    if parameters.get("comment") == FRESH_DELETED:
        doomed = api.comment(api.world.main_post, "deleted, to be restored")["id"]
        api.call("DELETE", f"/v1/sites/{api.world.keys.site}/comments/{doomed}", 204,
                 headers=api.role("moderator"))  # fmt: skip
        parameters["comment"] = doomed
    if parameters.get("ban") == FRESH_BAN:
        parameters["ban"] = api.ban(api.ban_comment())["id"]
    if isinstance(case.body, dict) and case.body.get("comment_id") == BAN_COMMENT:
        case.body["comment_id"] = api.ban_comment()
    held = case.body.get("comments") if isinstance(case.body, dict) else None
    first = held[0] if isinstance(held, list) and held else None
    if isinstance(first, dict) and first.get("comment_id") == OWN_COMMENTS:
        mine = api.comment(api.world.main_post, "mine, to be exported or erased")
        case.body["comments"] = [{"comment_id": mine["id"], "delete_token": mine["delete_token"]}]
    if case.headers.get("Idempotency-Key") == FRESH:
        case.headers["Idempotency-Key"] = f"contract-{secrets.token_hex(8)}"
    if case.headers.get("X-Delete-Token") == OWN_TOKEN:
        token = api.world.tokens.get(str(parameters.get("comment")))
        case.headers["X-Delete-Token"] = token or secrets.token_urlsafe(32)
    case.path_parameters = parameters


CREDENTIAL_HEADERS = ("Authorization", "X-Delete-Token")


def real_credentials(case: Case[Any], world: World) -> dict[str, str]:
    """Take the keys and delete tokens the seed made out of the case, to send them the way
    schemathesis sends configured credentials. Left in the case they would count as generated
    (so invalid), and `ignored_auth` would fail every success; sent this way it knows them to be
    real, and re-sends each success without them and with invalid ones, expecting 401 or 403.
    Generated values stay in the case: a success with those is a failure."""
    real = world.credentials()
    return {
        name: case.headers.pop(name)
        for name in CREDENTIAL_HEADERS
        if case.headers.get(name) in real
    }


@schema.parametrize()
def test_operation_conforms_to_the_contract(case: Case[Any], api: "Api") -> None:
    target_coverage_case(case, api.world)
    resolve(case, api)
    base_url, credentials = api.world.base_url, real_credentials(case, api.world)
    response = case.call(base_url=base_url, session=api.http, headers=credentials)
    SEEN.setdefault(operation_id(case), Counter())[response.status_code] += 1
    if operation_id(case) == "post_ban" and response.status_code == 201:
        # Lifted at once: a ban by IP would refuse every later comment from this client.
        api.lift(response.json()["id"])
    sent = {"base_url": base_url, "headers": credentials}
    case.validate_response(response, headers=credentials, transport_kwargs=sent)
    rules = RULES.get(operation_id(case), {})
    if case.meta and case.meta.generation.mode.is_positive and response.status_code in rules:
        problem = response.json()
        field = problem["errors"][0]["loc"][0] if problem.get("errors") else None
        slug = problem["type"].rsplit("/", 1)[-1]
        assert {(slug, field), (slug, None)} & rules[response.status_code], problem
    if response.status_code == 201 and "Idempotency-Key" in case.headers:
        # A retry answers with the stored response, marked as replayed; it too must conform.
        replayed = case.call_and_validate(base_url=base_url, session=api.http, headers=credentials)
        assert (replayed.status_code, replayed.json()) == (201, response.json())
        assert replayed.headers.get("idempotent-replayed") == ["true"]
        REPLAYED.append(case.headers["Idempotency-Key"])


def test_every_operation_was_exercised(request: pytest.FixtureRequest) -> None:
    selected = [item for item in request.session.items if item.name.startswith(f"{TEST_NAME}[")]
    if len(selected) != len(SPEC_OPERATIONS):
        pytest.skip("only part of the contract test was selected")
    report = {operation: dict(sorted(statuses.items())) for operation, statuses in SEEN.items()}
    assert set(SEEN) == SPEC_OPERATIONS, report
    # The seed is there so that every operation's success path is taken, not only its 4xx.
    failing_only = {name for name, statuses in SEEN.items() if not any(s < 300 for s in statuses)}
    assert not failing_only, {name: report[name] for name in failing_only}
    assert REPLAYED, "no POST with an Idempotency-Key succeeded, so no replay was checked"


# --- the live server and the seed ---------------------------------------------------------


class LiveServer:
    """`create_app(settings)` on a free 127.0.0.1 port, on its own loop in a daemon thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    def start(self) -> str:
        self.thread.start()
        return asyncio.run_coroutine_threadsafe(self.serve(), self.loop).result(timeout=60)

    async def serve(self) -> str:
        self.runner = web.AppRunner(create_app(self.settings), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        host, port = self.runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()


@dataclass
class Api:
    """Plain HTTP calls for the seed and for fresh resources; each asserts its status."""

    http: requests.Session
    world: World

    def call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        response = self.http.request(method, self.world.base_url + path, timeout=30, **kwargs)
        assert response.status_code == expected, (method, path, response.text)
        return response.json() if response.content else None

    def role(self, role: str) -> dict[str, str]:
        return {"Authorization": bearer(getattr(self.world.keys, role))}

    def publish(self, post_id: str, *labels: str) -> str:
        body = {"title": f"Post {post_id}", "url": f"https://blog.example/{post_id}"}
        path = f"/v1/sites/{self.world.keys.site}/posts/{post_id}"
        self.call("PUT", path, 201, json=body | {"labels": labels}, headers=self.role("publisher"))
        return post_id

    def comment(
        self, post_id: str, body: str, parent_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        payload = {"author": {"name": "Ann", "website": "https://ann.example"}, "body": body}
        path = f"/v1/sites/{self.world.keys.site}/posts/{post_id}/comments"
        created: dict[str, Any] = self.call(
            "POST", path, 201, json=payload | {"parent_id": parent_id} | extra
        )
        self.world.tokens[created["id"]] = created["delete_token"]
        return created

    def ban_comment(self) -> str:
        """A comment on the ban site by an author of its own, so a ban touches nobody else."""
        assert self.world.ban_site is not None
        site = self.world.ban_site.site
        author = {"name": f"Troll {secrets.token_hex(4)}", "email": "troll@example.org"}
        path = f"/v1/sites/{site}/posts/{self.world.ban_post}/comments"
        created = self.call("POST", path, 201, json={"author": author, "body": "troll"})
        comment_id: str = created["id"]
        return comment_id

    def ban_headers(self) -> dict[str, str]:
        assert self.world.ban_site is not None
        return {"Authorization": bearer(self.world.ban_site.moderator)}

    def ban(self, comment_id: str) -> dict[str, Any]:
        assert self.world.ban_site is not None
        path = f"/v1/sites/{self.world.ban_site.site}/bans"
        body = {"comment_id": comment_id, "match": "name_ip"}
        created: dict[str, Any] = self.call(
            "POST", path, 201, json=body, headers=self.ban_headers()
        )
        return created

    def lift(self, ban_id: str) -> None:
        assert self.world.ban_site is not None
        path = f"/v1/sites/{self.world.ban_site.site}/bans/{ban_id}"
        self.call("DELETE", path, 204, headers=self.ban_headers())

    def register_webhook(self) -> str:
        body = {"url": WEBHOOK_URL, "types": ["comment.posted"]}
        created = self.call("POST", "/v1/webhooks", 201, json=body, headers=self.role("moderator"))
        return str(created["id"])

    def first_event_cursor(self) -> str | None:
        """The cursor of an early event of the site, or None when the feed stays empty: it shows
        a transaction only once every older one on the server has ended, and other test runs
        against the same PostgreSQL may keep one open for a while."""
        deadline = time.monotonic() + 15
        while True:
            page = self.call("GET", "/v1/events?limit=3", 200, headers=self.role("subscriber"))
            if page["events"] or time.monotonic() > deadline:
                cursor: str | None = page["next"]
                return cursor
            time.sleep(0.2)


def seed(api: Api) -> None:
    world, site = api.world, api.world.keys.site
    api.publish(world.main_post, "news", "contract")
    api.publish(world.updatable_post, "contract")
    api.publish(world.other_post, "news")
    for number in range(3):
        api.publish(f"news-{number}", "news", "Ünïcode label")
    api.publish(world.deleted_post)
    api.publish(world.closable_post)
    assert world.ban_site is not None
    path = f"/v1/sites/{world.ban_site.site}/posts/{world.ban_post}"
    body = {"title": "Bans", "url": "https://blog.example/bans"}
    api.call(
        "PUT", path, 201, json=body, headers={"Authorization": bearer(world.ban_site.publisher)}
    )
    api.call(
        "DELETE", f"/v1/sites/{site}/posts/{world.deleted_post}", 204, headers=api.role("moderator")
    )

    first = api.comment(world.main_post, "First, with *markdown*")["id"]
    reply = api.comment(world.main_post, "A reply", first)["id"]
    nested = api.comment(world.main_post, "A reply to the reply", reply)["id"]
    second = api.comment(world.main_post, "Second <script>alert(1)</script>")["id"]
    tombstone = api.comment(world.main_post, "Deleted later; its reply keeps it")["id"]
    survivor = api.comment(world.main_post, "Reply to a deleted comment", tombstone)["id"]
    gone = api.comment(world.main_post, "Deleted by its author, no replies")["id"]
    foreign = api.comment(world.other_post, "On another post")["id"]
    comments = f"/v1/sites/{site}/comments"
    api.call("DELETE", f"{comments}/{tombstone}", 204, headers=api.role("moderator"))
    api.call("DELETE", f"{comments}/{gone}", 204, headers={"X-Delete-Token": world.tokens[gone]})
    world.comments = (first, reply, nested, second, survivor)
    world.tombstone, world.gone, world.foreign_comment = tombstone, gone, foreign

    thread = api.call("GET", f"/v1/sites/{site}/posts/{world.main_post}/comments?limit=1", 200)
    world.thread_cursor = thread["next"]
    news = api.call("GET", f"/v1/sites/{site}/labels/news/posts?limit=1", 200)
    world.label_cursor = news["next"]
    world.event_cursor = api.first_event_cursor()
    world.webhook = api.register_webhook()
    assert world.thread_cursor and world.label_cursor


@pytest.fixture(scope="module")
def live_url(settings: Settings) -> Iterator[str]:
    # Every case of `delete_webhook` registers a fresh webhook on the main site: the per-site
    # limit (tested in test_webhook_addresses.py) would soon refuse them.
    server = LiveServer(settings.model_copy(update={"max_webhooks_per_site": 100_000}))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def contract_sites(pool: asyncpg.Pool) -> tuple[SiteKeys, ...]:
    return tuple([await make_site(pool) for _ in range(4)])


@pytest.fixture(scope="module")
async def mail_link(pool: asyncpg.Pool, contract_sites: tuple[SiteKeys, ...]) -> str:
    async with pool.acquire() as connection:
        secret = await credentials.load_server_secret(connection, None)
    link = links.new_link(links.LinkAction.UNSUBSCRIBE_SITE, contract_sites[0].site, email_hash="0")
    return links.sign(secret, link)


@pytest.fixture(scope="module")
async def contract_group(pool: asyncpg.Pool, contract_sites: tuple[SiteKeys, ...]) -> str:
    return await make_group(pool, contract_sites[0], contract_sites[1])


@pytest.fixture(scope="module")
def api(
    live_url: str,
    contract_sites: tuple[SiteKeys, ...],
    mail_link: str,
    contract_group: str,
) -> Iterator[Api]:
    global WORLD
    keys, other, settings_site, ban_site = contract_sites
    with requests.Session() as http:
        world = World(base_url=live_url, keys=keys, other=other, group=contract_group)
        world.settings_site, world.ban_site = settings_site, ban_site
        world.mail_link = mail_link
        seeded = Api(http, world)
        seed(seeded)
        WORLD = seeded.world
        try:
            yield seeded
        finally:
            WORLD = None
