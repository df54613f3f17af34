"""Which URLs a capture may load: http(s) only, and no private addresses unless allowed.

Every name is resolved through one `Resolver`, so tests can point it at a fixed table and
no DNS query leaves the machine. The browser resolves again on its own, so the recorder
also checks the IP each response actually came from (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from ..errors import UserError

ALLOWED_SCHEMES = ("http", "https")

Resolver = Callable[[str], Awaitable[list[str]]]


class BadURL(UserError):
    pass


def validate_url(url: str) -> str:
    """Return the URL if it is a capturable absolute http(s) URL, else raise BadURL."""
    text = url.strip()
    if not text:
        raise BadURL("empty URL", hint="give a full address such as https://example.org/post/1")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise BadURL(f"malformed URL {url!r}: {exc}", hint="check the address") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme + ":" if scheme else "no scheme"
        raise BadURL(
            f"cannot capture {url!r}: {shown} is not http or https",
            hint="only http:// and https:// addresses can be captured",
        )
    if not parts.hostname or any(c in parts.netloc for c in " <>\"\\^`{|}"):
        raise BadURL(f"malformed URL {url!r}: no valid host", hint="check the address")
    return text


def is_private_address(ip: str) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast or unspecified."""
    try:
        addr = ipaddress.ip_address(ip.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not addr.is_global or addr.is_multicast


async def system_resolver(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def table_resolver(table: dict[str, Iterable[str]]) -> Resolver:
    """A resolver that answers from a fixed table and fails for every other name."""

    async def resolve(host: str) -> list[str]:
        if host in table:
            return list(table[host])
        raise socket.gaierror(socket.EAI_NONAME, f"{host} not in table")

    return resolve


class NetGuard:
    """Decides, per request URL, whether the browser may send it."""

    def __init__(self, allow_private: bool, resolver: Resolver = system_resolver):
        self.allow_private = allow_private
        self.resolver = resolver
        self._cache: dict[str, list[str] | None] = {}

    async def check(self, url: str) -> str | None:
        """None when allowed, else the reason it is blocked."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("data", "blob", "about", "chrome-extension", "devtools"):
            return None  # never leaves the browser
        if scheme not in ("http", "https", "ws", "wss"):
            return f"scheme {scheme}: not allowed"
        if self.allow_private:
            return None
        host = (parts.hostname or "").strip("[]")
        addresses = await self._resolve(host)
        if addresses is None:
            return None  # unresolvable: the browser will fail it and we record that failure
        private = [ip for ip in addresses if is_private_address(ip)]
        if private:
            return f"private address {private[0]} for {host} (use --allow-private to capture it)"
        return None

    async def _resolve(self, host: str) -> list[str] | None:
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        if host not in self._cache:
            try:
                self._cache[host] = await self.resolver(host)
            except (socket.gaierror, OSError):
                self._cache[host] = None
        return self._cache[host]
