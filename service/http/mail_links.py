"""The links in mail: a GET shows what the link will do and a button (mail scanners fetch
links, so a GET never acts); a POST acts. A mail client's RFC 8058 one-click unsubscribe is
such a POST (`List-Unsubscribe=One-Click`)."""

from datetime import UTC, datetime
from html import escape

from aiohttp import web

from service.domain.commands import ApproveComment, RejectComment
from service.domain.events import RejectReason
from service.http import auth
from service.http.auth import metadata
from service.http.problems import Problem
from service.keys import APPLICATION, POOL, SERVER_SECRET
from service.subscriptions.mail import readers
from service.subscriptions.mail.links import BadLink, Link, LinkAction, SpentLink, is_spent, spend
from service.subscriptions.mail.links import verify as verify_link

# What each link does, in both languages the mail is written in.
ACTIONS = {
    LinkAction.CONFIRM: ("Confirm your email address", "Bevestig je e-mailadres"),
    LinkAction.UNSUBSCRIBE_THREAD: (
        "Stop mail about this thread",
        "Geen e-mail meer over deze discussie",
    ),
    LinkAction.UNSUBSCRIBE_SITE: ("Stop all mail from this site", "Geen e-mail meer van deze site"),
    LinkAction.APPROVE: ("Approve the comment", "Keur de reactie goed"),
    LinkAction.REJECT: ("Reject the comment", "Wijs de reactie af"),
}
DONE = ("Done.", "Gedaan.")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'",
}


async def checked(request: web.Request) -> Link:
    secret = await request.app[SERVER_SECRET].get()
    try:
        link = verify_link(secret, request.match_info["token"], datetime.now(UTC))
        if link.action.moderates and await is_spent(request.app[POOL], link):
            raise SpentLink
    except BadLink:
        raise Problem(404, "this mail link is not valid", slug="mail-link-invalid") from None
    except SpentLink:
        raise Problem(410, "this mail link expired or was used", slug="mail-link-spent") from None
    return link


def page(title: tuple[str, str], form: bool) -> web.Response:
    english, dutch = (escape(text) for text in title)
    button = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{english} · {dutch}</button></form>'
        if form
        else ""
    )
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{english}</title>'
        '<meta name="viewport" content="width=device-width"></head>'
        f'<body style="font-family:sans-serif;margin:2em"><h1>{english}</h1><p lang="nl">{dutch}'
        f"</p>{button}</body></html>"
    )
    return web.Response(text=body, content_type="text/html", headers=PAGE_HEADERS)


async def get_mail_link(request: web.Request) -> web.Response:
    link = await checked(request)
    return page(ACTIONS[link.action], form=True)


async def post_mail_link(request: web.Request) -> web.Response:
    link = await checked(request)
    pool = request.app[POOL]
    match link.action:
        case LinkAction.CONFIRM if link.email_hash:
            await readers.confirm(pool, link.site, link.email_hash)
        case LinkAction.UNSUBSCRIBE_THREAD if link.email_hash and link.post_id:
            await readers.unsubscribe_thread(pool, link.site, link.email_hash, link.post_id)
        case LinkAction.UNSUBSCRIBE_SITE if link.email_hash:
            await readers.unsubscribe_site(pool, link.site, link.email_hash)
        case LinkAction.APPROVE | LinkAction.REJECT if link.comment_id:
            await moderate(request, link, link.comment_id)
    return page(DONE, form=False)


async def moderate(request: web.Request, link: Link, comment_id: str) -> None:
    """A moderator's action, recorded (and audited) as the link's: spent first, so two
    clicks act once."""
    site = await auth.known_site(request, link.site)
    await spend(request.app[POOL], link)
    at = datetime.now(UTC)
    command: ApproveComment | RejectComment = (
        ApproveComment(site=link.site, comment_id=comment_id, reason="approved by mail", at=at)
        if link.action is LinkAction.APPROVE
        else RejectComment(
            site=link.site,
            comment_id=comment_id,
            reason=RejectReason.OTHER,
            detail="rejected by mail",
            at=at,
        )
    )
    meta = metadata(request, site, None)
    meta["actor"] = {"kind": "mail-link", "key_id": f"mail-link:{link.link_id}"}
    await request.app[APPLICATION].execute(command, meta)
