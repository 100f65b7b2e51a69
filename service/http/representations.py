"""Rendered read bodies, kept while the thread they show is unchanged.

A thread's row in `posts` records the last event applied to it (`position`), so a cached body
is still right exactly while that position is; its stamp (read/stamps.py) says so. Each body is kept
plain and gzipped, with an ETag per encoding.
"""

import functools
import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

from service.settings import Settings

MIN_GZIP_BYTES = 1024
MAX_BYTES: int = Settings.model_fields["cache_bytes"].default
# What an entry costs beyond its bodies: the key, the ETags, the objects around them.
ENTRY_OVERHEAD_BYTES = 512


@dataclass(frozen=True, slots=True)
class Representation:
    position: int
    body: bytes
    etag: str
    gzipped: bytes | None
    gzip_etag: str
    content_type: str = "application/json"

    @classmethod
    def of(
        cls, position: int, body: bytes, content_type: str = "application/json"
    ) -> "Representation":
        digest = hashlib.sha256(body).hexdigest()[:32]
        gzipped = (
            gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= MIN_GZIP_BYTES else None
        )
        return cls(position, body, f'"{digest}"', gzipped, f'"{digest}-gzip"', content_type)

    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + ENTRY_OVERHEAD_BYTES

    def response(self, request: web.Request) -> web.Response:
        use_gzip = self.gzipped is not None and accepts_gzip(request)
        etag = self.gzip_etag if use_gzip else self.etag
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if etag_matches(request.headers.get("If-None-Match"), (self.etag, self.gzip_etag)):
            return web.Response(status=304, headers=headers)
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        # As a header, not `content_type=`: aiohttp's setter parses it again each time.
        headers["Content-Type"] = self.content_type
        body = self.gzipped if use_gzip and self.gzipped is not None else self.body
        return web.Response(body=body, headers=headers)


class RepresentationCache:
    """An LRU of representations by request key, bounded by the bytes it holds (plain and
    gzipped bodies, and a fixed allowance per entry), not by entries: a thread's pages can be
    megabytes each, and every `limit` and cursor is another key."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[tuple[object, ...], Representation] = OrderedDict()

    def get(self, key: tuple[object, ...], position: int) -> Representation | None:
        found = self.entries.get(key)
        if found is None or found.position != position:
            return None
        self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], representation: Representation) -> None:
        self.discard(key)
        size = representation.size()
        if size > self.max_bytes:
            return  # it would push out everything else and be pushed out next
        self.entries[key] = representation
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, oldest = self.entries.popitem(last=False)
            self.bytes -= oldest.size()

    def discard(self, key: tuple[object, ...]) -> None:
        found = self.entries.pop(key, None)
        if found is not None:
            self.bytes -= found.size()


def accepts_gzip(request: web.Request) -> bool:
    return gzip_accepted(request.headers.get("Accept-Encoding", ""))


# Clients send a handful of distinct Accept-Encoding headers, again and again.
@functools.lru_cache(maxsize=256)
def gzip_accepted(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
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
