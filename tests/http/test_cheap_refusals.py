"""Issue 11, Markdown was rendered before the cheap checks: ten thousand `[` sent past the
rate limit or to a missing post cost 0.17-0.36 s of CPU each, so four or five requests a second
kept the process busy. A comment (or an edit) that is refused is now refused before its body
is rendered, sanitised or given a token; only what a writer would accept gets rendered."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from service.write import rendering
from tests.builders import Client, SiteKeys, comment, publish, set_settings

HOSTILE = "[" * 10_000
TRIES = 8


class CountingRenderer:
    """The real Markdown renderer, counting its calls: `parsed` by the Markdown parser,
    `as_text` shown as text for being over the budget."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.parsed = 0
        self.as_text = 0

    def render(self, source: str) -> str:
        self.parsed += 1
        result: str = self.real.render(source)
        return result

    @property
    def calls(self) -> int:
        return self.parsed + self.as_text


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingRenderer]:
    counting = CountingRenderer(rendering.MARKDOWN)
    real_plain_text = rendering.plain_text

    def plain_text(source: str) -> str:
        counting.as_text += 1
        return real_plain_text(source)

    monkeypatch.setattr(rendering, "MARKDOWN", counting)
    monkeypatch.setattr(rendering, "plain_text", plain_text)
    yield counting


async def flood(client: Client, path: str, name: str = "Ann", **extra: Any) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for _ in range(TRIES):
        payload = {"author": {"name": name}, "body": HOSTILE} | extra
        statuses[(await client.post(path, json=payload)).status] += 1
    return statuses


async def test_past_the_rate_limit_nothing_is_rendered(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    post_id = await publish(client, site)
    await set_settings(client, site, rate_limit_per_minute=1)
    statuses = await flood(client, f"/v1/sites/{site.site}/posts/{post_id}/comments")
    # One is let through (two if a new minute began meanwhile); only those were rendered.
    assert statuses[429] >= TRIES - 2 and statuses[201] + statuses[429] == TRIES
    assert renders.calls == statuses[201]


async def test_a_missing_or_deleted_post_renders_nothing(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    missing = await flood(client, f"/v1/sites/{site.site}/posts/no-such-post/comments")
    assert missing == {404: TRIES}
    post_id = await publish(client, site)
    await client.delete(f"/v1/sites/{site.site}/posts/{post_id}", headers=site.auth("moderator"))
    gone = await flood(client, f"/v1/sites/{site.site}/posts/{post_id}/comments")
    assert gone == {410: TRIES}
    assert renders.calls == 0


async def test_a_closed_thread_an_unknown_parent_and_a_ban_render_nothing(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    troll = await comment(client, site, post_id, "hi", name="Troll")
    assert renders.calls == 1
    assert await flood(client, path, parent_id="no-such-comment") == {422: TRIES}
    ban = await client.post(
        f"/v1/sites/{site.site}/bans",
        json={"comment_id": troll["id"], "match": "name_ip"},
        headers=site.auth("moderator"),
    )
    assert ban.status == 201
    assert await flood(client, path, name="Troll") == {403: TRIES}
    closed = await client.post(
        f"/v1/sites/{site.site}/posts/{post_id}/close", headers=site.auth("moderator")
    )
    assert closed.status == 204
    assert await flood(client, path) == {409: TRIES}
    assert renders.calls == 1


async def test_an_edit_with_a_wrong_token_or_of_no_comment_renders_nothing(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    post_id = await publish(client, site)
    mine = await comment(client, site, post_id, "mine")
    wrong = {"X-Delete-Token": "tl_" + "x" * 40}
    base = f"/v1/sites/{site.site}/comments"
    for _ in range(TRIES):
        refused = await client.patch(f"{base}/{mine['id']}", json={"body": HOSTILE}, headers=wrong)
        assert refused.status in (401, 403)
        unknown = await client.patch(
            f"{base}/no-such-comment", json={"body": HOSTILE}, headers=wrong
        )
        assert unknown.status == 404
    assert renders.calls == 1
    edited = await client.patch(
        f"{base}/{mine['id']}",
        json={"body": "*fixed*"},
        headers={"X-Delete-Token": mine["delete_token"]},
    )
    assert edited.status == 200 and (await edited.json())["body_html"] == "<p><em>fixed</em></p>"
    assert renders.calls == 2


async def test_what_passes_is_rendered_as_before(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    """A ban that holds lets a comment past the rate limit: the early look must not refuse it."""
    post_id = await publish(client, site)
    path = f"/v1/sites/{site.site}/posts/{post_id}/comments"
    troll = await comment(client, site, post_id, "hi", name="Troll")
    ban = await client.post(
        f"/v1/sites/{site.site}/bans",
        json={"comment_id": troll["id"], "match": "name_ip", "hold": True},
        headers=site.auth("moderator"),
    )
    assert ban.status == 201
    await set_settings(client, site, rate_limit_per_minute=1)
    for _ in range(3):
        held = await client.post(path, json={"author": {"name": "Troll"}, "body": "**again**"})
        assert held.status == 201 and (await held.json())["status"] == "held"
    assert renders.calls == 4


async def test_an_accepted_pathological_body_is_shown_as_text_without_parsing(
    client: Client, site: SiteKeys, renders: CountingRenderer
) -> None:
    """What passes the checks is bounded too: a body whose Markdown would cost more than the
    budget is never handed to the parser."""
    post_id = await publish(client, site)
    created = await comment(client, site, post_id, HOSTILE)
    assert created["body_html"] == f"<p>{HOSTILE}</p>"
    normal = await comment(client, site, post_id, "a *normal* comment")
    assert normal["body_html"] == "<p>a <em>normal</em> comment</p>"
    assert (renders.parsed, renders.as_text) == (1, 1)
