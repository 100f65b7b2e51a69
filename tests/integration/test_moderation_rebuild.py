"""`threadlog rebuild` reproduces every moderation read: settings, the queue, the audit trail,
bans, single comments and the threads they change."""

import asyncpg

from service.http.keys import REPRESENTATIONS
from service.ops.rebuild import rebuild
from tests.builders import Client, SiteKeys, comment, publish


async def moderation_reads(
    client: Client, site: SiteKeys, post_id: str, ids: list[str]
) -> list[bytes]:
    base = f"/v1/sites/{site.site}"
    moderator = site.auth("moderator")
    paths = [
        (f"{base}/settings", moderator),
        (f"{base}/moderation/queue?state=all", moderator),
        (f"{base}/moderation/queue?state=reported", moderator),
        (f"{base}/audit", moderator),
        (f"{base}/bans", moderator),
        (f"{base}/posts/{post_id}/comments", {}),
        (f"{base}/counts?post={post_id}", {}),
        *[(f"{base}/comments/{comment_id}", moderator) for comment_id in ids],
    ]
    reads = []
    for path, headers in paths:
        response = await client.get(path, headers=headers)
        reads.append(f"{response.status} ".encode() + await response.read())
    return reads


async def test_rebuild_reproduces_every_moderation_read(
    client: Client, site: SiteKeys, pool: asyncpg.Pool
) -> None:
    base = f"/v1/sites/{site.site}"
    moderator = site.auth("moderator")
    post_id = await publish(client, site, labels=["News"])
    await client.patch(f"{base}/settings", json={"suspect_words": ["hmm"]}, headers=moderator)
    live = await comment(client, site, post_id, "live")
    held = await comment(client, site, post_id, "hmm, held")
    rejected = await comment(client, site, post_id, "rejected")
    edited = await comment(client, site, post_id, "typo")
    reject = {"reason": "spam"}
    await client.post(f"{base}/comments/{rejected['id']}/reject", json=reject, headers=moderator)
    await client.post(f"{base}/comments/{live['id']}/reports", json={"reason": "spam"})
    token = {"X-Delete-Token": edited["delete_token"]}
    await client.patch(f"{base}/comments/{edited['id']}", json={"body": "fixed"}, headers=token)
    troll = await comment(client, site, post_id, "troll", name="Troll")
    ban = {"comment_id": troll["id"], "match": "name_ip", "remove_comments": True}
    assert (await client.post(f"{base}/bans", json=ban, headers=moderator)).status == 201
    await client.post(f"{base}/posts/{post_id}/close", headers=moderator)
    ids = [c["id"] for c in (live, held, rejected, edited, troll)]
    before = await moderation_reads(client, site, post_id, ids)
    async with pool.acquire() as connection:
        await rebuild(connection)
    client.app[REPRESENTATIONS].entries.clear()
    assert await moderation_reads(client, site, post_id, ids) == before
    assert b'"status":"held"' in before[1] and b'"type":"author.banned"' in before[3]
