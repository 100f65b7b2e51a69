"""A site's own stream: its moderation policy, its bans and its erasures."""

import hmac

from service.domain.commands import (
    BanAuthor,
    ChangeSiteSettings,
    EraseAuthor,
    SiteCommand,
    UnbanAuthor,
)
from service.domain.errors import (
    BanAlreadyLifted,
    BanNotFound,
    CommentNotFound,
    ErasureNeedsModerator,
    WrongDeleteToken,
)
from service.domain.events import (
    AuthorBanned,
    AuthorErased,
    AuthorUnbanned,
    ErasureRequester,
    Event,
    SiteSettingsChanged,
)
from service.domain.policy import SiteSettings
from service.domain.state import BanState, SiteState


def decide_site(command: SiteCommand, state: SiteState) -> list[Event]:
    """An unchanged settings object appends nothing; a ban names an existing comment."""
    match command:
        case ChangeSiteSettings():
            merged = state.settings.model_dump() | command.changes
            settings = SiteSettings.model_validate(merged)
            if settings == state.settings:
                return []
            return [SiteSettingsChanged(site=command.site, settings=settings)]
        case BanAuthor():
            comment = state.comments.get(command.comment_id)
            author_hash = comment.hash_for(command.match) if comment else None
            if comment is None or author_hash is None:
                raise CommentNotFound(
                    f"comment {command.comment_id!r} does not exist or has no "
                    f"{command.match.value} to match"
                )
            return [
                AuthorBanned(
                    site=command.site,
                    ban_id=command.ban_id,
                    comment_id=command.comment_id,
                    match=command.match,
                    author_hash=author_hash,
                    expires_at=command.expires_at,
                    hold=command.hold,
                    remove_comments=command.remove_comments,
                    reason=command.reason,
                    at=command.at,
                )
            ]
        case UnbanAuthor():
            ban = state.bans.get(command.ban_id)
            if ban is None:
                raise BanNotFound(f"ban {command.ban_id!r} does not exist")
            if ban.lifted:
                raise BanAlreadyLifted(f"ban {command.ban_id!r} was already lifted")
            return [
                AuthorUnbanned(
                    site=command.site, ban_id=command.ban_id, reason=command.reason, at=command.at
                )
            ]
        case EraseAuthor():
            return erase_author(command, state)
    raise TypeError(f"unknown command {type(command).__name__}")


def erase_author(command: EraseAuthor, state: SiteState) -> list[Event]:
    """`state.comments`: every comment not yet erased of the author(s) the command names. An
    author's tokens must prove every one of them: a key shared by comments written with the same
    email is destroyed whole, and a token proves one comment, not the email."""
    if command.comment_id is not None and command.comment_id not in state.comments:
        raise CommentNotFound(f"comment {command.comment_id!r} does not exist or was erased")
    if command.requested_by is ErasureRequester.AUTHOR:
        for comment_id, token_sha256 in command.tokens:
            comment = state.comments.get(comment_id)
            stored = comment.delete_token_sha256 if comment else None
            if stored is None or not hmac.compare_digest(stored, token_sha256):
                raise WrongDeleteToken(f"a token does not match comment {comment_id!r}")
        unproven = set(state.comments) - {comment_id for comment_id, _ in command.tokens}
        if unproven:
            raise ErasureNeedsModerator(
                f"{len(unproven)} more comment(s) on this site were written with the same "
                "email (or name and address); ask the site's moderators to erase them all"
            )
    if not state.comments:
        return []
    return [
        AuthorErased(
            site=command.site,
            erasure_id=command.erasure_id,
            comment_ids=tuple(sorted(state.comments)),
            requested_by=command.requested_by,
            at=command.at,
        )
    ]


def evolve_site(state: SiteState, event: Event) -> SiteState:
    match event:
        case SiteSettingsChanged():
            return state.model_copy(update={"settings": event.settings})
        case AuthorBanned():
            ban = BanState(
                ban_id=event.ban_id,
                match=event.match,
                author_hash=event.author_hash,
                expires_at=event.expires_at,
                hold=event.hold,
            )
            return state.model_copy(update={"bans": state.bans | {event.ban_id: ban}})
        case AuthorUnbanned() if event.ban_id in state.bans:
            lifted = state.bans[event.ban_id].model_copy(update={"lifted": True})
            return state.model_copy(update={"bans": state.bans | {event.ban_id: lifted}})
    return state
