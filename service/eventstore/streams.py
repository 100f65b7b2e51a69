"""Stream ids and the advisory lock keys derived from names: the one definition of each."""

import hashlib


def post_stream_id(site: str, post_id: str) -> str:
    """A post's thread."""
    return f"post:{site}:{post_id}"


def site_stream_id(site: str) -> str:
    """A site's own stream: its settings and bans."""
    return f"site:{site}"


def group_stream_id(group: str) -> str:
    """A group's own stream: which sites it gathers."""
    return f"group:{group}"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a stream or a worker's name; a rare
    collision only makes two holders queue."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
