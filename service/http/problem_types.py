"""What each problem `type` means: the short page its URI resolves to (RFC 9457 section 3.1.1
recommends that a type URI lead to documentation a person can read)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProblemType:
    title: str
    statuses: tuple[int, ...]
    meaning: str
    what_to_do: str


PROBLEM_TYPES = {
    "bad-request": ProblemType(
        "Bad request", (400,),
        "The request cannot be read: malformed JSON, a query parameter or header of the wrong "
        "form, a cursor that is not one of ours.",
        "Fix the request as `detail` says; sending it again unchanged gives the same answer.",
    ),
    "validation-failed": ProblemType(
        "Validation failed", (422,),
        "The body is well-formed JSON but breaks the schema in openapi.yaml; `errors` lists the "
        "fields (the first few dozen) with what is wrong with each.",
        "Correct the listed fields.",
    ),
    "unauthorized": ProblemType(
        "Unauthorized", (401,),
        "No API key, an unknown or revoked one, or a malformed delete token.",
        "Send `Authorization: Bearer <key>` with a valid key of the site.",
    ),
    "forbidden": ProblemType(
        "Forbidden", (403,),
        "The key is valid but its role or site does not allow this, or a delete token does not "
        "belong to the comment.",
        "Use a key of the right role for this site (see the README's roles table).",
    ),
    "not-found": ProblemType(
        "Not found", (404,),
        "No such site, post, comment, webhook, ban or path.",
        "Check the ids in the path.",
    ),
    "method-not-allowed": ProblemType(
        "Method not allowed", (405,),
        "The path exists but not with this method; `Allow` lists the methods it has.",
        "Use one of the methods in `Allow`.",
    ),
    "post-deleted": ProblemType(
        "Post deleted", (409, 410),
        "The post was deleted: its thread is gone (410), and its id cannot be published again "
        "(409).",
        "Publish under a new post id.",
    ),
    "comment-already-deleted": ProblemType(
        "Comment already deleted", (409,),
        "The comment was deleted before this request.",
        "Nothing: the comment is already gone.",
    ),
    "erasure-needs-moderator": ProblemType(
        "Erasure needs a moderator", (409,),
        "Other comments on this site share the author's data key (they were written with the "
        "same email, or the same name and address) and the delete tokens sent do not prove them: "
        "a token proves one comment, not an email.",
        "Send the tokens of every such comment, or ask the site's moderators to erase by email.",
    ),
    "parent-not-found": ProblemType(
        "Parent comment not found", (422,),
        "`parent_id` names no comment of this post.",
        "Reply to a comment of the same post.",
    ),
    "reply-too-deep": ProblemType(
        "Reply nested too deeply", (422,),
        "Replies nest at most as deep as the site allows.",
        "Reply to a comment higher in the thread.",
    ),
    "thread-closed": ProblemType(
        "Thread closed", (409,),
        "A moderator closed the thread, or it closed itself after the site's close-after-days.",
        "None for readers; a moderator can reopen it.",
    ),
    "author-banned": ProblemType(
        "Author banned", (403,),
        "A moderator banned this author (by name, email or address) on this site.",
        "None: a moderator can lift the ban.",
    ),
    "rate-limited": ProblemType(
        "Too many requests", (429,),
        "Too many comments or reports from this client in the last minute.",
        "Wait the seconds `Retry-After` says, then try again.",
    ),
    "banned-word": ProblemType(
        "Banned word", (422,),
        "The comment contains a word the site bans.",
        "Rephrase it.",
    ),
    "wrong-status": ProblemType(
        "Comment status does not allow this", (409,),
        "The comment's moderation status does not allow this action (approving a published "
        "comment, restoring one that is not deleted).",
        "Read the comment's status first.",
    ),
    "edit-window-closed": ProblemType(
        "Edit window closed", (409,),
        "Authors may edit a comment only for a while after posting it.",
        "None: the comment can still be deleted with its token.",
    ),
    "ban-lifted": ProblemType(
        "Ban already lifted", (409,),
        "The ban was lifted before this request.",
        "Nothing: the ban is already gone.",
    ),
    "idempotency-key-reused": ProblemType(
        "Idempotency key reused", (422,),
        "This `Idempotency-Key` was used before for a different request.",
        "Use a new key for each distinct request; reuse one only to retry the same request.",
    ),
    "too-many-webhooks": ProblemType(
        "Too many webhooks", (409,),
        "The site already has THREADLOG_MAX_WEBHOOKS_PER_SITE webhooks.",
        "Delete one it no longer needs, or ask the operator to raise the limit.",
    ),
    "too-many-streams": ProblemType(
        "Too many streams", (429, 503),
        "Live streams are capped per client address (429: close one first) and for the whole "
        "instance (503: it is full).",
        "Wait the seconds `Retry-After` says; a reader needs one stream per page, not one per tab.",
    ),
    "too-many-connections": ProblemType(
        "Too many connections", (429, 503),
        "Open connections are capped per client address (429) and for the whole instance "
        "(503); the connection was answered at once and closed.",
        "Reuse connections (keep-alive) instead of opening many; retry after `Retry-After`.",
    ),
    "request-timeout": ProblemType(
        "Request timeout", (408,),
        "The request's body did not arrive within THREADLOG_BODY_TIMEOUT_SECONDS.",
        "Send the body at once; the connection is closed after this answer.",
    ),
    "payload-too-large": ProblemType(
        "Payload too large", (413,),
        "The body is larger than THREADLOG_MAX_BODY_BYTES.",
        "Send a smaller body.",
    ),
    "unsupported-media-type": ProblemType(
        "Unsupported media type", (415,),
        "The body is not `application/json` (UTF-8).",
        "Send JSON with `Content-Type: application/json`.",
    ),
    "mail-link-invalid": ProblemType(
        "Mail link invalid", (404,),
        "The link is not one this server signed: mistyped, cut short by a mail program, or "
        "signed with a server secret that has since changed.",
        "Copy the whole link from the mail; for a moderator's link, act in the console instead.",
    ),
    "mail-link-spent": ProblemType(
        "Mail link spent", (410,),
        "The link expired (a moderator's works THREADLOG_MAIL_LINK_DAYS days, a confirmation "
        "as long) or, being a moderator's, was used already.",
        "Act in the console, or ask for a new confirmation by commenting with the option again.",
    ),
    "database-unavailable": ProblemType(
        "Database unavailable", (503,),
        "PostgreSQL is out of reach for now (a restart, a failover, an exhausted pool). For a "
        "write, it may or may not have been stored.",
        "Retry after `Retry-After` seconds, with the same `Idempotency-Key` for a write: it then "
        "answers the first outcome or writes once.",
    ),
    "shutting-down": ProblemType(
        "Shutting down", (503,),
        "This instance is stopping; another (or this one, restarted) takes the request.",
        "Retry after `Retry-After` seconds.",
    ),
    "cluster-not-adopted": ProblemType(
        "Database moved", (503,),
        "The database was restored, moved or upgraded to another PostgreSQL cluster while the "
        "service ran; writes are refused so that nothing is appended out of order.",
        "Retry later; an operator runs `threadlog adopt-cluster` (see the README's Backups, "
        "restores, moves and upgrades).",
    ),
    "not-ready": ProblemType(
        "Not ready", (503,),
        "The service cannot serve yet (the schema is not migrated).",
        "Run `threadlog migrate`, then retry.",
    ),
    "internal-error": ProblemType(
        "Internal server error", (500,),
        "A bug: the log has the request id given in `detail`.",
        "Report it with the request id.",
    ),
}  # fmt: skip
