"""Sample exports of each format, written here from the formats' published structure: one
scenario (two posts, a thread three deep, a held, a spam and two deleted comments) in each.

The scenario's comments are listed parents first; each writer may put them in another order
(Blogger's exports list the newest first).
"""

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


@dataclass(frozen=True)
class Post:
    key: str
    title: str
    path: str
    labels: tuple[str, ...]
    published: datetime


@dataclass(frozen=True)
class Comment:
    key: str
    post: str
    parent: str | None
    name: str
    website: str | None
    written: datetime
    text: str
    # published, held, spam or deleted
    status: str = "published"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, day, hour, 0, tzinfo=UTC)


POSTS = (
    Post("101", "First post", "/2024/05/first-post.html", ("LinkedIn", "Course"), at(1, 8)),
    Post("102", "Second post", "/2024/05/second-post.html", ("LinkedIn",), at(3, 8)),
)
COMMENTS = (
    Comment("201", "101", None, "Ann", "https://ann.example/", at(2), "Hello <b>world</b> & all"),
    Comment("202", "101", "201", "Bob", None, at(2, 10), "A reply"),
    Comment("203", "101", "202", "Cy", None, at(2, 11), "A reply to the reply"),
    Comment("204", "101", None, "Dee", None, at(2, 12), "Waiting", "held"),
    Comment("205", "101", None, "Eve", None, at(2, 13), "Buy pills", "spam"),
    Comment("206", "101", None, "Fay", None, at(2, 14), "Regretted", "deleted"),
    Comment("207", "101", "206", "Gus", None, at(2, 15), "Answer to a deleted one"),
    Comment("208", "101", None, "Hal", None, at(2, 16), "Gone", "deleted"),
    Comment("209", "102", None, "Ann", None, at(4), "On the second post"),
)
BASE = "https://blog.example"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- Blogger -----------------------------------------------------------------------------

BLOGGER_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/'
 xmlns:gd='http://schemas.google.com/g/2005' xmlns:thr='http://purl.org/syndication/thread/1.0'
 xmlns:blogger='http://schemas.google.com/blogger/2018' xmlns:app='http://purl.org/atom/app#'>
<id>tag:blogger.com,1999:blog-7</id><title type='text'>A blog</title>
<entry><id>tag:blogger.com,1999:blog-7.settings.BLOG_NAME</id>
<category scheme='http://schemas.google.com/g/2005#kind'
 term='http://schemas.google.com/blogger/2008/kind#settings'/><content type='text'>A blog</content>
</entry>
"""
KIND = "<category scheme='http://schemas.google.com/g/2005#kind' term='http://schemas.google.com/blogger/2008/kind#{}'/>"
BLOGGER_STATUS = {"held": "PENDING", "spam": "SPAM"}


def blogger_id(key: str) -> str:
    return f"tag:blogger.com,1999:blog-7.post-{key}"


def blogger_post(post: Post) -> str:
    labels = "".join(
        f"<category scheme='http://www.blogger.com/atom/ns#' term={quoteattr(label)}/>"
        for label in post.labels
    )
    return f"""<entry><id>{blogger_id(post.key)}</id>
<published>{post.published.isoformat()}</published>{KIND.format("post")}{labels}
<title type='text'>{escape(post.title)}</title>
<content type='html'>&lt;p&gt;The post&lt;/p&gt;</content>
<link rel='alternate' type='text/html' href='{BASE}{post.path}' title={quoteattr(post.title)}/>
<author><name>The blogger</name></author></entry>
"""


def blogger_comment(comment: Comment) -> str:
    post = next(p for p in POSTS if p.key == comment.post)
    related = ""
    if comment.parent:
        href = f"https://www.blogger.com/feeds/7/{post.key}/comments/default/{comment.parent}"
        related = f"<link rel='related' href='{href}' type='application/atom+xml'/>"
    removed, content = "", escape(comment.text)
    if comment.status == "deleted":
        removed = "<gd:extendedProperty name='blogger.contentRemoved' value='true'/>"
        content = "This comment has been removed by the author."
    status = BLOGGER_STATUS.get(comment.status)
    status_element = f"<blogger:status>{status}</blogger:status>" if status else ""
    uri = f"<uri>{comment.website}</uri>" if comment.website else ""
    written = comment.written.astimezone().isoformat()  # any offset: it is kept as a moment
    return f"""<entry><id>{blogger_id(comment.key)}</id><published>{written}</published>
{KIND.format("comment")}<title type='text'>{escape(comment.text[:10])}</title>
<content type='html'>{escape(content)}</content>
<link rel='alternate' type='text/html' href='{BASE}{post.path}?showComment=1#c{comment.key}'/>
{related}<author><name>{escape(comment.name)}</name>{uri}</author>
<thr:in-reply-to href='{BASE}{post.path}' ref='{blogger_id(post.key)}'
 source='https://www.blogger.com/feeds/7/posts/default/{post.key}' type='text/html'/>
{removed}{status_element}</entry>
"""


def blogger(folder: Path) -> Path:
    """Posts, then comments newest first, as Blogger lists them."""
    comments = sorted(COMMENTS, key=lambda c: c.written, reverse=True)
    body = "".join(map(blogger_post, POSTS)) + "".join(map(blogger_comment, comments))
    path = folder / "blogger.xml"
    path.write_text(BLOGGER_HEAD + body + "</feed>\n", encoding="utf-8")
    return path


# --- WordPress ---------------------------------------------------------------------------

WP_APPROVED = {"published": "1", "held": "0", "spam": "spam", "deleted": "trash"}


def wordpress_comment(comment: Comment) -> str:
    return f"""<wp:comment>
<wp:comment_id>{comment.key}</wp:comment_id>
<wp:comment_author><![CDATA[{comment.name}]]></wp:comment_author>
<wp:comment_author_email>{comment.name.lower()}@mail.example</wp:comment_author_email>
<wp:comment_author_url>{comment.website or ""}</wp:comment_author_url>
<wp:comment_author_IP>192.0.2.1</wp:comment_author_IP>
<wp:comment_date>{comment.written:%Y-%m-%d %H:%M:%S}</wp:comment_date>
<wp:comment_date_gmt>{comment.written:%Y-%m-%d %H:%M:%S}</wp:comment_date_gmt>
<wp:comment_content><![CDATA[{comment.text}]]></wp:comment_content>
<wp:comment_approved>{WP_APPROVED[comment.status]}</wp:comment_approved>
<wp:comment_type>comment</wp:comment_type>
<wp:comment_parent>{comment.parent or 0}</wp:comment_parent>
<wp:comment_user_id>0</wp:comment_user_id>
</wp:comment>"""


def wordpress_item(post: Post) -> str:
    categories = "".join(
        f'<category domain="{"category" if n else "post_tag"}" nicename="{label.lower()}">'
        f"<![CDATA[{label}]]></category>"
        for n, label in enumerate(post.labels)
    )
    comments = "".join(wordpress_comment(c) for c in COMMENTS if c.post == post.key)
    slug = post.path.rpartition("/")[2].removesuffix(".html")
    return f"""<item><title>{escape(post.title)}</title><link>{BASE}{post.path}</link>
<pubDate>{post.published:%a, %d %b %Y %H:%M:%S +0000}</pubDate>
<dc:creator><![CDATA[admin]]></dc:creator>
<guid isPermaLink="false">{BASE}/?p={post.key}</guid>
<content:encoded><![CDATA[<p>The post</p>]]></content:encoded>
<wp:post_id>{post.key}</wp:post_id>
<wp:post_date_gmt>{post.published:%Y-%m-%d %H:%M:%S}</wp:post_date_gmt>
<wp:post_name>{slug}</wp:post_name><wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type>{categories}{comments}
</item>
"""


def wordpress(folder: Path) -> Path:
    path = folder / "wordpress.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>A blog</title><link>{BASE}</link><wp:wxr_version>1.2</wp:wxr_version>
<wp:category><wp:term_id>1</wp:term_id><wp:category_nicename>course</wp:category_nicename>
</wp:category>
<item><title>A picture</title><wp:post_id>900</wp:post_id><wp:status>inherit</wp:status>
<wp:post_type>attachment</wp:post_type></item>
{"".join(map(wordpress_item, POSTS))}</channel></rss>
""",
        encoding="utf-8",
    )
    return path


# --- Disqus ------------------------------------------------------------------------------


def disqus(folder: Path, comments: Sequence[Comment] = COMMENTS) -> Path:
    """Threads, then posts in the order given (Disqus lists a reply after its parent, but
    nothing here relies on it)."""
    threads = "".join(
        f"""<thread dsq:id="{post.key}"><id>{post.key}-identifier</id><forum>blog</forum>
<category dsq:id="1"/><link>{BASE}{post.path}</link><title>{escape(post.title)}</title>
<message/><createdAt>{iso(post.published)}</createdAt>
<author><name>The blogger</name><isAnonymous>false</isAnonymous><username>blogger</username>
</author><isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
"""
        for post in POSTS
    )
    posts = "".join(
        f"""<post dsq:id="{c.key}"><id/><message><![CDATA[<p>{c.text}</p>]]></message>
<createdAt>{iso(c.written)}</createdAt>
<isDeleted>{str(c.status == "deleted").lower()}</isDeleted>
<isSpam>{str(c.status == "spam").lower()}</isSpam>
<author><name>{escape(c.name)}</name><isAnonymous>false</isAnonymous></author>
<thread dsq:id="{c.post}"/>{f'<parent dsq:id="{c.parent}"/>' if c.parent else ""}</post>
"""
        for c in comments
        if c.status != "held"  # Disqus exports no pending state
    )
    path = folder / "disqus.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<category dsq:id="1"><forum>blog</forum><title>General</title><isDefault>true</isDefault>
</category>
{threads}{posts}</disqus>
""",
        encoding="utf-8",
    )
    return path


# --- Isso --------------------------------------------------------------------------------

ISSO_SCHEMA = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
"""
ISSO_MODES = {"published": 1, "held": 2, "deleted": 4}


def isso(folder: Path) -> Path:
    path = folder / "isso.db"
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(ISSO_SCHEMA)
        for post in POSTS:
            connection.execute(
                "INSERT INTO threads VALUES (?, ?, ?)", (int(post.key), post.path, post.title)
            )
        for c in COMMENTS:
            if c.status == "spam":
                continue  # Isso keeps no spam
            deleted = c.status == "deleted"
            connection.execute(
                "INSERT INTO comments (tid, id, parent, created, mode, remote_addr, text, author,"
                " email, website, voters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(c.post),
                    int(c.key),
                    int(c.parent) if c.parent else None,
                    c.written.timestamp(),
                    ISSO_MODES[c.status],
                    "192.0.2.0",
                    "" if deleted else c.text.replace("<b>", "**").replace("</b>", "**"),
                    None if deleted else c.name,
                    None,
                    c.website,
                    b"",
                ),
            )
    connection.close()
    return path
