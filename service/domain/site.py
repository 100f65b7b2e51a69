"""A site's own stream: its moderation policy and its bans."""

from service.domain.commands import BanAuthor, ChangeSiteSettings, SiteCommand, UnbanAuthor
from service.domain.errors import BanAlreadyLifted, BanNotFound, CommentNotFound
from service.domain.events import AuthorBanned, AuthorUnbanned, Event, SiteSettingsChanged
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
    raise TypeError(f"unknown command {type(command).__name__}")


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
