from tests.builders import Client, SiteKeys, comment, publish, thread


async def test_a_reply_nests_under_its_comment(client: Client, site: SiteKeys) -> None:
    post_id = await publish(client, site)
    first = await comment(client, site, post_id, "first")
    reply = await comment(client, site, post_id, "reply", parent_id=first["id"])
    view = await thread(client, site, post_id)
    assert view["total"] == 2
    assert [c["id"] for c in view["comments"]] == [first["id"]]
    assert [r["id"] for r in view["comments"][0]["replies"]] == [reply["id"]]
