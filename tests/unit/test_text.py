"""The text word rules read and the names authors keep: pure functions of domain/text.py."""

from hypothesis import given
from hypothesis import strategies as st

from service.domain.policy import SiteSettings, content_hold, first_match, has_link, readable
from service.domain.text import display_name, folded, mixes_directions, visible_text
from service.write.rendering import render_markdown


def test_visible_text_undoes_markdown_and_entities() -> None:
    assert visible_text(render_markdown("buy v&#105;agra")) == "\nbuy viagra\n"
    assert visible_text(render_markdown("via**gra**")).strip() == "viagra"
    assert visible_text(render_markdown("a\n\nb")).split() == ["a", "b"]
    assert visible_text("<p>a &amp; b</p>").strip() == "a & b"


def test_folding_makes_look_alike_spellings_one() -> None:
    assert folded("V\u200bI\u00adAGRA") == "viagra"
    assert folded("\uff56\uff49\uff41\uff47\uff52\uff41") == "viagra"
    assert folded("Stra\u00dfe") == "strasse"
    assert folded("\ufb01ne") == "fine"


def test_words_match_what_is_shown() -> None:
    def matched(source: str) -> str | None:
        return first_match(("viagra*",), *readable(source, render_markdown(source)))

    assert matched("buy v&#105;agra") == "viagra*"
    assert matched("via**gra**s") == "viagra*"
    assert matched("[click](https://viagra.example)") == "viagra*"  # the source holds it
    assert matched("via gra") is None
    assert first_match(("stra\u00dfe",), "STRASSE") == "stra\u00dfe"


def test_the_authors_website_is_a_link() -> None:
    assert has_link("no link", "<p>no link</p>", "https://spam.example")
    assert not has_link("no link", "<p>no link</p>", None)
    links = SiteSettings(premoderation="links")
    assert content_hold(links, "hi", "<p>hi</p>", "Ann", "https://a.example", True) == "links"
    assert content_hold(links, "hi", "<p>hi</p>", "Ann", None, True) is None


def test_names_keep_their_display_form() -> None:
    assert display_name(" Ann\u200b  \u2066Lee\u2069 ") == "Ann Lee"
    assert display_name("\u200b\u202e") == ""
    assert mixes_directions("Ann \u05d3\u05d5\u05d3")
    assert not mixes_directions("\u05d3\u05d5\u05d3 2") and not mixes_directions("Ann 2")


@given(st.text(max_size=300))
def test_folding_is_stable_and_never_raises(text: str) -> None:
    assert folded(folded(text)) == folded(text)
    assert display_name(display_name(text)) == display_name(text)
    visible_text(text)
    visible_text(render_markdown(text))


def test_the_first_listed_word_that_matches_is_named() -> None:
    words = (*(f"word{number}" for number in range(500)), "*coin*", "bit*")
    assert first_match(words, "nothing here") is None
    assert first_match(words, "bitcoins") == "*coin*"
    assert first_match(words, "a WORD499 b") == "word499"
    assert first_match(("*", " ", "spam"), "SPAM") == "spam"
    assert first_match(("*",), "anything") is None
