"""Rendered read bodies, kept while the thread they show is unchanged.

A thread's row in `posts` records the last event applied to it (`position`), so a cached body
is still right exactly while that position is; one cheap query checks it. Each body is kept
plain and gzipped, with an ETag per encoding.
"""

import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

MIN_GZIP_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Representation:
    position: int
    body: bytes
    etag: str
    gzipped: bytes | None
    gzip_etag: str

    @classmethod
    def of(cls, position: int, body: bytes) -> "Representation":
        digest = hashlib.sha256(body).hexdigest()[:32]
        gzipped = (
            gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= MIN_GZIP_BYTES else None
        )
        return cls(position, body, f'"{digest}"', gzipped, f'"{digest}-gzip"')

    def response(self, request: web.Request) -> web.Response:
        use_gzip = self.gzipped is not None and accepts_gzip(request)
        etag = self.gzip_etag if use_gzip else self.etag
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if etag_matches(request.headers.get("If-None-Match"), (self.etag, self.gzip_etag)):
            return web.Response(status=304, headers=headers)
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        body = self.gzipped if use_gzip and self.gzipped is not None else self.body
        return web.Response(body=body, content_type="application/json", headers=headers)


class RepresentationCache:
    """A bounded LRU of representations, by request key."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[object, ...], Representation] = OrderedDict()

    def get(self, key: tuple[object, ...], position: int) -> Representation | None:
        found = self.entries.get(key)
        if found is None or found.position != position:
            return None
        self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], representation: Representation) -> None:
        self.entries[key] = representation
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


def accepts_gzip(request: web.Request) -> bool:
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, _, parameters = coding.strip().partition(";")
        if name.strip().lower() == "gzip":
            return parameters.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def etag_matches(header: str | None, etags: tuple[str, ...]) -> bool:
    if header is None:
        return False
    if len(header) > 4096:  # no cache sends this many tags; do not spend time on it
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or any(etag in candidates for etag in etags)
