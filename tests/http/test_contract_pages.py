"""The contract is served (/openapi.yaml), and every problem `type` is an absolute URI whose page
says what it means."""

import re
from pathlib import Path

import yaml

import service.access.credentials
import service.write.application
import service.write.idempotency
from service.domain.errors import DomainError
from service.http.problem_types import PROBLEM_TYPES
from service.http.problems import SLUGS
from service.settings import Settings
from tests.builders import Client, serving

ROOT = Path(__file__).resolve().parents[2]
# Imported for the DomainErrors they define.
assert service.access.credentials and service.write.application and service.write.idempotency


def every_subclass(kind: type) -> list[type]:
    found = []
    for subclass in kind.__subclasses__():
        found += [subclass, *every_subclass(subclass)]
    return found


def slugs_the_service_can_answer() -> set[str]:
    spec = (ROOT / "openapi.yaml").read_text()
    documented = set(re.findall(r"/problems/([a-z-]+)", spec))
    raised = {error.slug for error in every_subclass(DomainError)}
    return documented | raised | set(SLUGS.values()) | {"database-unavailable", "shutting-down"}


async def test_every_problem_type_has_a_page(client: Client) -> None:
    slugs = slugs_the_service_can_answer()
    assert len(slugs) >= 20
    assert slugs <= PROBLEM_TYPES.keys(), slugs - PROBLEM_TYPES.keys()
    for slug in sorted(slugs):
        response = await client.get(f"/problems/{slug}")
        assert response.status == 200, slug
        assert response.content_type == "text/html"
        page = await response.text()
        assert PROBLEM_TYPES[slug].title in page
        assert all(str(status) in page for status in PROBLEM_TYPES[slug].statuses)
    unknown = await client.get("/problems/no-such-problem")
    assert unknown.status == 404


async def test_a_problems_type_is_absolute_and_resolves(client: Client) -> None:
    response = await client.get("/v1/sites/no-such-site/posts/p/comments")
    assert response.status == 404
    problem = await response.json()
    origin = str(client.make_url("/")).rstrip("/")
    assert problem["type"] == f"{origin}/problems/not-found"
    page = await client.get(problem["type"].removeprefix(origin))
    assert page.status == 200 and "Not found" in await page.text()


async def test_the_public_url_is_the_base_of_problem_types(settings: Settings) -> None:
    async with serving(settings, public_url="https://comments.example/base/") as client:
        response = await client.get("/v1/events")
        assert response.status == 401
        problem = await response.json()
    assert problem["type"] == "https://comments.example/base/problems/unauthorized"


async def test_the_contract_is_served(client: Client) -> None:
    response = await client.get("/openapi.yaml")
    assert response.status == 200
    assert response.content_type == "application/yaml"
    served = yaml.safe_load(await response.text())
    assert served == yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert "/openapi.yaml" in served["paths"]
