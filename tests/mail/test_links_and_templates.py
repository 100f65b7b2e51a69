"""The pure parts of mail: signed links, templates an owner overrides, the SMTP URL."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.subscriptions.mail.links import BadLink, LinkAction, SpentLink, new_link, sign, verify
from service.subscriptions.mail.smtp import Server
from service.subscriptions.mail.templates import Templates

SECRET = b"s" * 32
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_a_link_reads_back_what_was_signed_until_it_expires() -> None:
    expires = int((NOW + timedelta(days=7)).timestamp())
    link = new_link(LinkAction.APPROVE, "blog", comment_id="c1", expires=expires)
    token = sign(SECRET, link)
    assert verify(SECRET, token, NOW) == link
    assert verify(SECRET, token, NOW + timedelta(days=6, hours=23)) == link
    with pytest.raises(SpentLink):
        verify(SECRET, token, NOW + timedelta(days=7, seconds=1))
    with pytest.raises(BadLink):
        verify(b"t" * 32, token, NOW)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"))
def test_nothing_but_a_signed_link_is_accepted(token: str) -> None:
    with pytest.raises(BadLink):
        verify(SECRET, token, NOW)


def test_a_changed_link_is_refused() -> None:
    link = new_link(LinkAction.UNSUBSCRIBE_SITE, "blog", email_hash="abc")
    mac = sign(SECRET, link).partition(".")[2]
    other = sign(SECRET, new_link(LinkAction.UNSUBSCRIBE_SITE, "other", email_hash="abc"))
    with pytest.raises(BadLink):
        verify(SECRET, f"{other.partition('.')[0]}.{mac}", NOW)


def test_an_owner_overrides_a_template_for_all_sites_or_one(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "confirm.txt").write_text("Hello from $site_title\n\nGo: $confirm_url\n")
    (tmp_path / "blog" / "nl").mkdir(parents=True)
    (tmp_path / "blog" / "nl" / "confirm.html").write_text("<p>$site_title: <b>$confirm_url</b>")
    templates = Templates(tmp_path)
    values = {"site_title": "A <b> blog", "confirm_url": "https://x.example/?a=1&b=2"}
    english = templates.mail("other", "en", "confirm", values)
    assert english.subject == "Hello from A <b> blog"
    assert english.text == "Go: https://x.example/?a=1&b=2\n"
    assert "A &lt;b&gt; blog" in english.html  # the built-in HTML part, escaped
    dutch = templates.mail("blog", "nl", "confirm", values)
    assert dutch.subject.startswith("Bevestig")  # the built-in Dutch text part
    assert "<p>A &lt;b&gt; blog: <b>https://x.example/?a=1&amp;b=2</b>" in dutch.html


def test_the_smtp_url_gives_tls_ports_and_credentials_and_hides_them() -> None:
    plain = Server.parse("smtp://mail.example")
    assert (plain.port, plain.implicit_tls, plain.username) == (587, False, None)
    secure = Server.parse("smtps://me%40blog:p%3Ass@mail.example")
    assert (secure.port, secure.implicit_tls) == (465, True)
    assert (secure.username, secure.password) == ("me@blog", "p:ss")
    assert "p:ss" not in repr(secure)
    with pytest.raises(ValueError):
        Server.parse("http://mail.example")
