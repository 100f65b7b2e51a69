"""The moderation domain, pure: each check of the new-comment pipeline and its order, status
transitions, reports, edits, closed threads, and the site stream's decisions."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from service.domain.commands import (
    ApproveComment,
    BanAuthor,
    ChangeSiteSettings,
    CloseThread,
    EditComment,
    RejectComment,
    ReopenThread,
    ReportComment,
    RestoreComment,
    UnbanAuthor,
)
from service.domain.errors import (
    AuthorBanned,
    BanAlreadyLifted,
    BannedWord,
    BanNotFound,
    EditWindowClosed,
    ParentNotFound,
    RateLimited,
    ThreadClosed,
    WrongDeleteToken,
    WrongStatus,
)
from service.domain.events import (
    AuthorBanned as AuthorBannedEvent,
)
from service.domain.events import (
    BanMatch,
    CommentApproved,
    CommentDeleted,
    CommentEdited,
    CommentHeld,
    CommentRejected,
    CommentReported,
    CommentRestored,
    CommentStatus,
    DeletedBy,
    RejectReason,
    ReportReason,
    SiteSettingsChanged,
    ThreadReopened,
)
from service.domain.events import ThreadClosed as ThreadClosedEvent
from service.domain.policy import HoldReason, Premoderation, SiteSettings, first_match
from service.domain.site import decide_site, evolve_site
from service.domain.state import BanState, SiteState
from service.domain.thread import decide, evolve
from tests.builders import AT, PUBLISHED, TOKEN, given, post_comment, posted


def ids(comment_id: str = "c1") -> dict[str, str]:
    return {"site": "s", "post_id": "p", "comment_id": comment_id}


def held(comment_id: str = "c1", reason: HoldReason = HoldReason.PREMODERATION) -> CommentHeld:
    return CommentHeld(**ids(comment_id), reason=reason)


def settings(**changes: Any) -> SiteSettings:
    return SiteSettings(**changes)


# --- the new-comment pipeline -------------------------------------------------------------


def test_a_comment_passing_every_check_is_published() -> None:
    assert decide(post_comment("c1"), given(PUBLISHED)) == [posted()]


def test_a_closed_thread_refuses_first() -> None:
    state = given(PUBLISHED, ThreadClosedEvent(site="s", post_id="p"))
    with pytest.raises(ThreadClosed):
        decide(post_comment("c1", rate_limited=True, honeypot=True), state)


def test_threads_close_by_themselves_after_the_days_set() -> None:
    state = given(PUBLISHED, settings=settings(close_after_days=3))
    assert decide(post_comment("c1", at=AT + timedelta(days=2)), state)
    with pytest.raises(ThreadClosed):
        decide(post_comment("c1", at=AT + timedelta(days=3)), state)


def ban(match: BanMatch, author_hash: str, **changes: Any) -> BanState:
    return BanState(ban_id="b", match=match, author_hash=author_hash, **changes)


@pytest.mark.parametrize(
    ("match", "author_hash"),
    [(BanMatch.EMAIL, "email"), (BanMatch.IP, "ip"), (BanMatch.NAME_IP, "name-ip")],
)
def test_a_banned_author_is_refused_before_the_rate_limit(
    match: BanMatch, author_hash: str
) -> None:
    with pytest.raises(AuthorBanned):
        decide(
            post_comment("c1", rate_limited=True), given(PUBLISHED, bans=(ban(match, author_hash),))
        )


def test_a_ban_that_holds_holds_and_decides() -> None:
    state = given(
        PUBLISHED,
        bans=(ban(BanMatch.IP, "ip", hold=True),),
        settings=settings(banned_words=("hello",)),
    )
    assert decide(post_comment("c1", rate_limited=True), state) == [
        posted(),
        held(reason=HoldReason.BANNED),
    ]


def test_expired_lifted_and_other_bans_do_not_apply() -> None:
    bans = (
        ban(BanMatch.IP, "ip", expires_at=AT),
        ban(BanMatch.EMAIL, "email", lifted=True),
        ban(BanMatch.NAME_IP, "someone else"),
    )
    assert decide(post_comment("c1"), given(PUBLISHED, bans=bans)) == [posted()]


def test_the_rate_limit_refuses_with_retry_after() -> None:
    with pytest.raises(RateLimited) as refused:
        decide(
            post_comment("c1", rate_limited=True, retry_after_seconds=17, honeypot=True),
            given(PUBLISHED),
        )
    assert refused.value.headers == {"Retry-After": "17"}


def test_a_filled_honeypot_is_held_as_spam_and_answers_as_published() -> None:
    assert decide(post_comment("c1", honeypot=True), given(PUBLISHED)) == [
        posted(),
        CommentHeld(**ids("c1"), reason=HoldReason.SPAM, answered=CommentStatus.PUBLISHED),
    ]


def test_a_filled_honeypot_answers_what_the_checks_would_have() -> None:
    """Whatever the site's policy, the answer is the one the same comment without the field
    gets: a bot comparing the two learns nothing."""
    premoderated = given(PUBLISHED, settings=settings(premoderation=Premoderation.ALL))
    assert decide(post_comment("c1", honeypot=True), premoderated) == [
        posted(),
        CommentHeld(**ids("c1"), reason=HoldReason.SPAM, answered=CommentStatus.HELD),
    ]
    banned = given(PUBLISHED, settings=settings(banned_words=("hello",)))
    with pytest.raises(BannedWord):
        decide(post_comment("c1", honeypot=True), banned)


def test_banned_words_refuse_with_the_word() -> None:
    state = given(
        PUBLISHED, settings=settings(banned_words=("cheap*",), premoderation=Premoderation.ALL)
    )
    with pytest.raises(BannedWord, match="cheap"):
        decide(post_comment("c1", body="So CHEAPEST pills"), state)


@pytest.mark.parametrize(
    ("premoderation", "body", "reason"),
    [
        (Premoderation.ALL, "hello", HoldReason.PREMODERATION),
        (Premoderation.FIRST_TIME, "hello", HoldReason.FIRST_TIME),
        (Premoderation.LINKS, "see https://x.example", HoldReason.LINKS),
        (Premoderation.LINKS, "see www.x.example", HoldReason.LINKS),
    ],
)
def test_premoderation_holds(premoderation: Premoderation, body: str, reason: HoldReason) -> None:
    state = given(PUBLISHED, settings=settings(premoderation=premoderation))
    assert decide(post_comment("c1", body=body), state)[1:] == [held(reason=reason)]


def test_a_known_author_passes_first_time_premoderation() -> None:
    state = given(PUBLISHED, settings=settings(premoderation=Premoderation.FIRST_TIME))
    known = state.model_copy(update={"known_authors": frozenset({"email"})})
    assert decide(post_comment("c1"), known) == [posted()]
    anonymous = post_comment("c1", author_email_hash=None)
    assert decide(anonymous, known)[1:] == [held(reason=HoldReason.FIRST_TIME)]


def test_suspect_words_hold() -> None:
    state = given(PUBLISHED, settings=settings(suspect_words=("*coin",)))
    assert decide(post_comment("c1", body="buy Bitcoin"), state)[1:] == [
        held(reason=HoldReason.SUSPECT_WORD)
    ]
    assert len(decide(post_comment("c1", body="coins"), state)) == 1


def test_words_match_whole_words_case_insensitively_with_wildcards() -> None:
    assert first_match(("spam",), "SPAM!") == "spam"
    assert first_match(("spam",), "spammer") is None
    assert first_match(("spam*",), "spammer") == "spam*"
    assert first_match(("*spam*",), "antispamming") == "*spam*"
    assert first_match(("free money",), "Free  money") is None
    assert first_match(("free money",), "FREE MONEY now") == "free money"
    assert first_match(("a.b",), "axb") is None
    assert first_match(("*",), "anything") is None


def test_a_reply_to_a_held_comment_is_refused() -> None:
    state = given(PUBLISHED, posted("c1"), held("c1"))
    with pytest.raises(ParentNotFound):
        decide(post_comment("c2", parent_id="c1"), state)


# --- moderator actions --------------------------------------------------------------------


def approve(comment_id: str = "c1") -> ApproveComment:
    return ApproveComment(site="s", comment_id=comment_id, at=AT)


def reject(comment_id: str = "c1") -> RejectComment:
    return RejectComment(site="s", comment_id=comment_id, reason=RejectReason.SPAM, at=AT)


def restore(comment_id: str = "c1") -> RestoreComment:
    return RestoreComment(site="s", comment_id=comment_id, at=AT)


def test_only_a_held_comment_is_approved() -> None:
    assert decide(approve(), given(PUBLISHED, posted(), held())) == [CommentApproved(**ids())]
    reported = given(PUBLISHED, posted(), CommentReported(**ids(), reason=ReportReason.SPAM))
    reported = reported.model_copy(
        update={
            "comments": {"c1": reported.comments["c1"].model_copy(update={"reporters": ("a",)})}
        }
    )
    [dismissed] = decide(approve(), reported)
    assert dismissed == CommentApproved(**ids(), from_status=CommentStatus.PUBLISHED)
    assert evolve(reported, dismissed).comments["c1"].reporters == ()
    with pytest.raises(WrongStatus):
        decide(approve(), given(PUBLISHED, posted()))


def test_approving_makes_the_author_known() -> None:
    state = given(PUBLISHED, posted(), held())
    comments = state.comments | {"c1": state.comments["c1"].model_copy(update={"email_hash": "e"})}
    state = state.model_copy(update={"comments": comments})
    assert evolve(state, CommentApproved(**ids())).known_authors == {"e"}


def test_reject_records_where_the_comment_was() -> None:
    assert decide(reject(), given(PUBLISHED, posted(), held())) == [
        CommentRejected(**ids(), reason=RejectReason.SPAM, from_status=CommentStatus.HELD)
    ]
    assert decide(reject(), given(PUBLISHED, posted()))[0] == CommentRejected(
        **ids(), reason=RejectReason.SPAM, from_status=CommentStatus.PUBLISHED
    )
    rejected = given(PUBLISHED, posted(), *decide(reject(), given(PUBLISHED, posted())))
    with pytest.raises(WrongStatus):
        decide(reject(), rejected)


def test_restore_brings_back_deleted_and_rejected_comments_only() -> None:
    deleted = given(
        PUBLISHED,
        posted(),
        CommentDeleted(**ids(), by=DeletedBy.MODERATOR, from_status=CommentStatus.PUBLISHED),
    )
    assert decide(restore(), deleted) == [
        CommentRestored(**ids(), from_status=CommentStatus.DELETED)
    ]
    rejected = given(
        PUBLISHED, posted(), CommentRejected(**ids(), reason="spam", from_status="published")
    )
    assert decide(restore(), rejected)[0].from_status is CommentStatus.REJECTED  # type: ignore[attr-defined]
    with pytest.raises(WrongStatus):
        decide(restore(), given(PUBLISHED, posted()))


def test_close_and_reopen_change_nothing_twice() -> None:
    close = CloseThread(site="s", post_id="p")
    reopen = ReopenThread(site="s", post_id="p")
    assert decide(close, given(PUBLISHED)) == [ThreadClosedEvent(site="s", post_id="p")]
    closed = given(PUBLISHED, ThreadClosedEvent(site="s", post_id="p"))
    assert decide(close, closed) == []
    assert decide(reopen, closed) == [ThreadReopened(site="s", post_id="p")]
    assert decide(reopen, given(PUBLISHED)) == []


# --- readers and authors --------------------------------------------------------------------


def report(reporter: str) -> ReportComment:
    return ReportComment(
        site="s", comment_id="c1", reason=ReportReason.SPAM, reporter_hash=reporter, at=AT
    )


def test_reports_count_once_per_client_and_hold_at_the_threshold() -> None:
    state = given(PUBLISHED, posted(), settings=settings(report_threshold=2))
    first = decide(report("a"), state)
    assert first == [CommentReported(**ids(), reason=ReportReason.SPAM, reporter_hash="a")]
    reported = evolve(state, first[0])
    assert reported.comments["c1"].reporters == ("a",)
    assert decide(report("a"), reported) == []
    assert decide(report("b"), reported)[1:] == [held(reason=HoldReason.REPORTS)]


def edit(body: str = "fixed", at: datetime = AT, token: bytes = TOKEN) -> EditComment:
    return EditComment(
        site="s", comment_id="c1", body=body, body_html=f"<p>{body}</p>",
        delete_token_sha256=token, at=at,
    )  # fmt: skip


def test_authors_edit_with_their_token_inside_the_window() -> None:
    state = given(PUBLISHED, posted())
    assert decide(edit(), state) == [
        CommentEdited(**ids(), body="fixed", body_html="<p>fixed</p>", edited_at=AT)
    ]
    with pytest.raises(WrongDeleteToken):
        decide(edit(token=b"x" * 32), state)
    with pytest.raises(EditWindowClosed):
        decide(edit(at=AT + timedelta(minutes=16)), state)


def test_an_edit_goes_through_the_word_checks_again() -> None:
    state = given(
        PUBLISHED, posted(), settings=settings(banned_words=("bad",), suspect_words=("hmm",))
    )
    with pytest.raises(BannedWord):
        decide(edit("so bad"), state)
    assert decide(edit("hmm"), state)[1:] == [held(reason=HoldReason.SUSPECT_WORD)]


# --- the site's stream ------------------------------------------------------------------------


def test_settings_change_only_when_they_differ() -> None:
    change = ChangeSiteSettings(site="s", changes={"report_threshold": 5})
    [event] = decide_site(change, SiteState())
    assert isinstance(event, SiteSettingsChanged) and event.settings.report_threshold == 5
    assert decide_site(change, evolve_site(SiteState(), event)) == []


def test_bans_name_a_comment_and_lift_once() -> None:
    author = given(PUBLISHED, posted()).comments["c1"].model_copy(update={"ip_hash": "ip"})
    command = BanAuthor(
        site="s", ban_id="b", comment_id="c1", match=BanMatch.IP, expires_at=None, at=AT
    )
    [banned] = decide_site(command, SiteState(comments={"c1": author}))
    assert isinstance(banned, AuthorBannedEvent) and banned.author_hash == "ip"
    state = evolve_site(SiteState(), banned)
    unban = UnbanAuthor(site="s", ban_id="b", at=AT)
    [lifted] = decide_site(unban, state)
    with pytest.raises(BanAlreadyLifted):
        decide_site(unban, evolve_site(state, lifted))
    with pytest.raises(BanNotFound):
        decide_site(UnbanAuthor(site="s", ban_id="nope", at=AT), state)


def test_an_edit_that_adds_a_link_goes_back_to_the_queue_under_links() -> None:
    state = given(PUBLISHED, posted(), settings=settings(premoderation=Premoderation.LINKS))
    assert decide(edit("see https://x.example"), state)[1:] == [held(reason=HoldReason.LINKS)]
    assert decide(edit("no link"), state)[1:] == []
