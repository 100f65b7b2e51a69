"""Every route the app serves is in openapi.yaml, under its handler's name, and vice versa."""

from pathlib import Path
from typing import Any

import yaml

from service.app import create_app
from service.domain.events import EVENT_TYPES
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_route_table_and_the_contract_agree() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    documented = {
        (method.upper(), path, operation["operationId"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    served = {
        (route.method, route.resource.canonical, route.name)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None and route.name
    }
    unpatterned = {(m, strip_patterns(p), n) for m, p, n in served}
    assert unpatterned == documented


def strip_patterns(path: str) -> str:
    """`/v1/sites/{site:[...]}/x` -> `/v1/sites/{site}/x`."""
    parts = []
    for part in path.split("/"):
        if part.startswith("{") and ":" in part:
            part = part.split(":", 1)[0] + "}"
        parts.append(part)
    return "/".join(parts)


def test_every_event_type_is_in_the_contract() -> None:
    schemas = yaml.safe_load((ROOT / "openapi.yaml").read_text())["components"]["schemas"]
    assert schemas["EventType"]["enum"] == list(EVENT_TYPES)
    assert schemas["CloudEvent"]["properties"]["type"]["enum"] == list(EVENT_TYPES)


METHODS = ("get", "put", "post", "delete", "patch")
SERVICE_UNAVAILABLE = {"$ref": "#/components/responses/ServiceUnavailable"}
# The live streams' 503 is also the service's cap on streams (as well as the database's).
STREAMS_UNAVAILABLE = {"$ref": "#/components/responses/StreamsUnavailable"}
STREAMS = {"get_event_stream", "get_comment_stream"}


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, operation), from openapi.yaml."""
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return {
        operation["operationId"]: (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_a_503_is_documented_as_the_database_being_unavailable() -> None:
    """Each operation that can need the database documents its 503 (database-unavailable or
    shutting-down, with Retry-After); /readyz its own. Those that document none are checked
    against a stopped database in test_database_unavailable.py."""
    documented = {name: op["responses"].get("503") for name, (_, _, op) in operations().items()}
    assert documented.pop("get_ready") == {"$ref": "#/components/responses/NotReady"}
    assert {name for name, response in documented.items() if response is None} == {
        "get_health", "get_embed_script", "get_labels_script", "get_count_script",
        "get_recent_script",
        "get_demo_page", "get_admin_page", "get_admin_script", "get_metrics", "get_favicon",
        "get_openapi", "get_problem_type",
    }  # fmt: skip
    assert {name: documented.pop(name) for name in STREAMS} == dict.fromkeys(
        STREAMS, STREAMS_UNAVAILABLE
    )
    assert all(r in (None, SERVICE_UNAVAILABLE) for r in documented.values()), documented
