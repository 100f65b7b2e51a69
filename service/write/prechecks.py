"""The cheap look before the costly work of a new or edited comment.

Rendering Markdown and sanitising it cost far more than a few indexed reads, and a refused
comment needs neither: a flood of large bodies sent to a missing post, a closed thread, a
banned author, past the rate limit or with a wrong token must cost no more than the lookups
that refuse it. So the command is first decided against its post's state as last committed,
without locks and without its HTML; only if that passes is it rendered and sent to a writer,
which decides it again under the post's lock (the state may have changed since).

The HTML decides no refusal (only whether a comment with links is held, see
domain/policy.py), so this look refuses exactly what the writer would, given the same state.
The look itself costs a connection and a few reads; a body cheaper than that to render (most
comments) goes straight to its writer, which refuses it just the same.
"""

from service.db import Pool
from service.domain.commands import EditComment, PostComment
from service.domain.errors import CommentNotFound
from service.domain.thread import decide
from service.eventstore.streams import post_stream_id
from service.write import decision_state
from service.write.rendering import markdown_cost

# Below this estimated rendering cost (at most about a microsecond a unit), rendering costs
# less than the look: about 1 ms, 5,000 characters with emphasis, a link and code in every
# sentence.
LOOK_FIRST_COST = 1_000


async def refuse_early(
    pool: Pool, command: PostComment | EditComment, cost: int | None = None
) -> None:
    """Raise the DomainError that a writer would answer `command` with, as of now, when its
    body would cost more to render than the look costs (`cost`: its markdown_cost, if known)."""
    if (markdown_cost(command.body) if cost is None else cost) <= LOOK_FIRST_COST:
        return
    async with pool.acquire() as connection:
        if isinstance(command, EditComment):
            named = (command.site, command.comment_id)
            post_id = (await decision_state.posts_of_comments(connection, [named])).get(named)
            if post_id is None:
                raise CommentNotFound(f"comment {command.comment_id!r} does not exist")
        else:
            post_id = command.post_id
        stream_id = post_stream_id(command.site, post_id)
        loaded = await decision_state.load(connection, [(stream_id, command)])
    decide(command, loaded[stream_id].state)
