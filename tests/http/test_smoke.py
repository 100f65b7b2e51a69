from aiohttp.test_utils import TestClient

from tests.builders import SiteKeys, comment, publish, thread


async def test_a_reply_nests_under_its_comment(client: TestClient, site: SiteKeys) -> None:  # type: ignore[type-arg]
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "first")
    reply = await comment(client, site, post_id, "reply", parent_id=first["id"])
    view = await thread(client, site, post_id)
    assert view["total"] == 2
    assert [c["id"] for c in view["comments"]] == [first["id"]]
    assert [r["id"] for r in view["comments"][0]["replies"]] == [reply["id"]]
