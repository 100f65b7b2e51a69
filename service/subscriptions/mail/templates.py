"""Mail templates: `string.Template` files per language, a plain-text and an HTML part each.

An operator overrides any of them with THREADLOG_MAIL_TEMPLATES: `<dir>/<site>/<language>/<name>`
for one site, `<dir>/<language>/<name>` for all, the built-in ones otherwise. The first line of
a mail's `.txt` template is its subject. Values are escaped for the HTML parts except those
named `html` and `items` (already sanitised comment HTML, or parts rendered here).
"""

import html
from dataclasses import dataclass
from pathlib import Path
from string import Template

BUILT_IN = Path(__file__).resolve().parent / "templates"
RAW = frozenset({"html", "items"})


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


class Templates:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def source(self, site: str, language: str, name: str) -> str:
        places = [BUILT_IN / language / name]
        if self.directory is not None:
            places[:0] = [self.directory / site / language / name, self.directory / language / name]
        for place in places:
            if place.is_file():
                return place.read_text(encoding="utf-8")
        return (BUILT_IN / "en" / name).read_text(encoding="utf-8")

    def part(self, site: str, language: str, name: str, values: dict[str, str]) -> str:
        """One part (`name` ends in .txt or .html) with `values` filled in; an unknown
        `$name` in an owner's template stays as written rather than failing the mail."""
        if name.endswith(".html"):
            values = {k: v if k in RAW else html.escape(v) for k, v in values.items()}
        return Template(self.source(site, language, name)).safe_substitute(values)

    def mail(
        self,
        site: str,
        language: str,
        name: str,
        values: dict[str, str],
        html_values: dict[str, str] | None = None,
    ) -> Rendered:
        """The whole mail; `html_values` replace some of `values` in the HTML part."""
        text = self.part(site, language, f"{name}.txt", values)
        subject, _, rest = text.partition("\n")
        body = self.part(site, language, f"{name}.html", values | (html_values or {}))
        page = f'<!doctype html><html lang="{language}"><body>{body}</body></html>'
        return Rendered(subject.strip(), rest.lstrip("\n"), page)
