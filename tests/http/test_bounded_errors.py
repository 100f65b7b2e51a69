"""Issue 11, errors amplify: a body with thousands of problems gets a 422 that lists a few
dozen of them and says how many it left out, so the answer stays small whatever was sent."""

import json

from service.settings import Settings
from tests.builders import Client, SiteKeys, publish, serving


async def test_six_thousand_unknown_fields_get_a_small_422(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    body = {"author": {"name": "Ann"}, "body": "hi"} | {f"f{n}": 0 for n in range(6000)}
    sent = json.dumps(body, separators=(",", ":")).encode()
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments",
        data=sent,
        headers={"Content-Type": "application/json"},
    )
    raw = await response.read()
    assert response.status == 422
    problem = json.loads(raw)
    assert len(problem["errors"]) == 20
    assert problem["omitted_errors"] == 5980
    assert problem["detail"].endswith("; and 5997 more")
    # Was 760 KB, 13 times what was sent; now a small fraction of it.
    assert len(raw) < 4096 < len(sent) // 10


async def test_the_cap_is_a_setting(settings: Settings, site: SiteKeys) -> None:
    async with serving(settings, problem_max_errors=2) as capped:
        post_id = await publish(capped, site)
        body = {"author": {"name": "Ann"}, "body": "hi", "a": 1, "b": 2, "c": 3}
        response = await capped.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=body)
        problem = await response.json()
    assert response.status == 422
    assert [error["loc"] for error in problem["errors"]] == [["a"], ["b"]]
    assert problem["omitted_errors"] == 1


async def test_a_huge_unknown_field_name_is_cut_short(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    name = "x" * 50_000
    body = {"author": {"name": "Ann"}, "body": "hi", name: 1}
    response = await client.post(f"/v1/sites/{site.site}/posts/{post_id}/comments", json=body)
    raw = await response.read()
    assert response.status == 422
    problem = json.loads(raw)
    assert problem["errors"][0]["loc"] == ["x" * 100 + "…"]
    assert "omitted_errors" not in problem
    assert len(raw) < 2048


async def test_a_few_problems_are_all_listed(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    response = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/comments", json={"author": {}, "body": 1}
    )
    problem = await response.json()
    assert response.status == 422
    assert len(problem["errors"]) == 2 and "omitted_errors" not in problem
    assert "more" not in problem["detail"]
