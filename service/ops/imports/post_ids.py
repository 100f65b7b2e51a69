"""From a source's post to a post id of this service (`--post-id-from`).

A post id matches `[A-Za-z0-9][A-Za-z0-9._~-]{0,127}`. Each rule takes some text of the
post, then every run of other characters (`/`, spaces, letters outside ASCII, `%`) becomes
one `-`, leading characters other than letters and digits go, and the id is cut at 128:

- `url` (the default): the path of the post's URL, without its leading and trailing `/` and
  a final `.html`, `.htm` or `.php`: `https://blog.example/2024/05/my-post.html` is
  `2024-05-my-post`; a URL with no path is its query (`/?p=12` is `p-12`), else `index`.
- `slug`: the source's own short name of the post (WordPress `post_name`, a Disqus thread's
  identifier), else the last part of that path: `my-post`.
- `id`: the source's own id of the post (Blogger's post number, WordPress `post_id`, Disqus
  `dsq:id`, Isso's thread id).
"""

import re
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from service.ops.imports.records import SourcePost

POST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")
OTHER = re.compile(r"[^A-Za-z0-9._~-]+")
EXTENSION = re.compile(r"\.(html?|php)$", re.IGNORECASE)


class PostIdFrom(StrEnum):
    URL = "url"
    SLUG = "slug"
    ID = "id"


def normalised(text: str) -> str | None:
    found = OTHER.sub("-", text)
    found = re.sub(r"^[^A-Za-z0-9]+", "", found)[:128].rstrip("-")
    return found if POST_ID.fullmatch(found) else None


def url_path(url: str) -> str:
    parts = urlsplit(url)
    path = EXTENSION.sub("", unquote(parts.path).strip("/"))
    return path or unquote(parts.query)


def post_id(rule: PostIdFrom, post: SourcePost) -> str | None:
    """None when the rule finds nothing usable in the post (the summary says so)."""
    match rule:
        case PostIdFrom.URL:
            return normalised(url_path(post.url) or "index")
        case PostIdFrom.SLUG:
            return normalised(post.slug or url_path(post.url).rpartition("/")[2])
        case PostIdFrom.ID:
            return normalised(post.source_id)
