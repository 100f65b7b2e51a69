"""A site's allowed origins, as browsers send them in the `Origin` header: a scheme, a host
and, unless it is the scheme's default, a port. Nothing else: CORS compares them exactly."""

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidOrigin(ValueError):
    pass


def parse_origin(text: str) -> str:
    """`text` as the browser would send it (lower case, no default port); InvalidOrigin with
    what is wrong and an example when it is not an origin."""
    example = "e.g. https://blog.example or http://localhost:8000"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidOrigin(f"origin {text!r} is not a URL ({error}); {example}") from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidOrigin(f"origin {text!r} needs the scheme http:// or https://; {example}")
    if not parts.hostname:
        raise InvalidOrigin(f"origin {text!r} has no host; {example}")
    if parts.username is not None or parts.password is not None:
        raise InvalidOrigin(f"origin {text!r} must not carry a user or password; {example}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidOrigin(
            f"origin {text!r} must be a scheme, a host and an optional port, without a path, "
            f"query or fragment; {example}"
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address, written as in a URL
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
