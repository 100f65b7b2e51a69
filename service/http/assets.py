"""The widget's static files (service/web/), served by the service itself.

Each file is read once, when the app is made, and kept plain and gzipped with an ETag per
encoding. A URL carrying the file's current version (`?v=<hash>`) may be cached for a year;
the plain URL that bloggers paste is cached for five minutes and then revalidated, so a new
release reaches every blog within minutes while the versioned URLs never go stale. Scripts are
served minified (`minify`): what the browser tests run is what blogs get.
"""

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

import rjsmin  # type: ignore[import-untyped]
from aiohttp import web

from service.http.representations import accepts_gzip, etag_matches

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300, stale-while-revalidate=86400"
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".html": "text/html",
    ".css": "text/css",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
# Scripts whose versions pages refer to; `{{version:<file>}}` in an HTML file becomes it.
SCRIPTS = ("embed.js", "labels.js", "count.js", "recent.js", "admin.js")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    gzipped: bytes
    version: str
    media_type: str

    @classmethod
    def of(cls, name: str, body: bytes) -> "Asset":
        version = hashlib.sha256(body).hexdigest()[:16]
        media_type = MEDIA_TYPES[name[name.rindex(".") :]]
        return cls(name, body, gzip.compress(body, compresslevel=9, mtime=0), version, media_type)

    def response(self, request: web.Request, *, cache: str | None = None) -> web.Response:
        versioned = request.query.get("v") == self.version
        use_gzip = accepts_gzip(request)
        etag = f'"{self.version}-gzip"' if use_gzip else f'"{self.version}"'
        headers = {
            "ETag": etag,
            "Cache-Control": cache or (IMMUTABLE if versioned else SHORT),
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if etag_matches(request.headers.get("If-None-Match"), (f'"{self.version}"', etag)):
            return web.Response(status=304, headers=headers)
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        return web.Response(
            body=self.gzipped if use_gzip else self.body,
            content_type=self.media_type,
            charset="utf-8" if self.media_type.startswith("text/") else None,
            headers=headers,
        )


def minify(script: bytes) -> bytes:
    """Whitespace and comments out, names and code as written (rjsmin: a conservative minifier
    that keeps template literals, whose CSS the scripts hold, as they are)."""
    minified: str = rjsmin.jsmin(script.decode())
    return minified.encode()


class Assets:
    def __init__(self, files: dict[str, bytes]) -> None:
        scripts = {name: Asset.of(name, minify(files[name])) for name in SCRIPTS if name in files}
        self.files: dict[str, Asset] = dict(scripts)
        for name, body in files.items():
            if name not in scripts:
                self.files[name] = Asset.of(name, versioned_links(body, scripts))

    @classmethod
    def load(cls) -> "Assets":
        folder = resources.files("service") / "web"
        files = {
            entry.name: entry.read_bytes()
            for entry in folder.iterdir()
            if entry.is_file()
            and "." in entry.name
            and entry.name[entry.name.rindex(".") :] in MEDIA_TYPES
        }
        return cls(files)

    def __getitem__(self, name: str) -> Asset:
        return self.files[name]

    def url(self, path: str, name: str) -> str:
        return f"{path}?v={self[name].version}"


def versioned_links(body: bytes, scripts: dict[str, Asset]) -> bytes:
    for name, asset in scripts.items():
        body = body.replace(f"{{{{version:{name}}}}}".encode(), asset.version.encode())
    return body
