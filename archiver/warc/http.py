"""Serialize a browser-seen hop as HTTP/1.1 messages, the way replay tools expect them.

Browsers report HTTP/2 exchanges and decoded bodies. Following Webrecorder's conventions
(so pywb and ReplayWeb.page replay our records): the status line always says HTTP/1.1 and
the real protocol goes to `WARC-Protocol`; HTTP/2 `:pseudo` headers are dropped (`Host`
comes from `:authority`); `Content-Encoding` / `Transfer-Encoding` become
`X-Orig-Content-Encoding` / `X-Orig-Transfer-Encoding` because the stored body is decoded,
and `Content-Length` is the stored length (the original moves to `X-Orig-Content-Length`).
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from ..capture.exchange import Hop

RENAMED_WHEN_DECODED = ("content-encoding", "transfer-encoding")


def header_lines(headers: dict[str, str] | None) -> list[tuple[str, str]]:
    """CDP joins repeated headers with newlines; give them back as separate lines."""
    lines: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        for part in str(value).split("\n"):
            lines.append((name, part))
    return lines


def parse_headers_text(text: str) -> list[tuple[str, str]]:
    """Header lines of a raw HTTP/1.x response head (status line skipped)."""
    lines: list[tuple[str, str]] = []
    for line in text.split("\r\n")[1:]:
        if not line:
            break
        name, sep, value = line.partition(":")
        if sep:
            lines.append((name.strip(), value.strip()))
    return lines


def _clean(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _render(first_line: str, lines: list[tuple[str, str]]) -> bytes:
    out = [first_line]
    out.extend(f"{_clean(n)}: {_clean(v)}" for n, v in lines)
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def request_head(hop: Hop) -> bytes:
    parts = urlsplit(hop.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    raw = hop.raw_request_headers or hop.request_headers
    lines: list[tuple[str, str]] = []
    authority = parts.netloc
    for name, value in header_lines(raw):
        if name.startswith(":"):
            if name == ":authority":
                authority = value
            continue
        lines.append((name, value))
    if not any(n.lower() == "host" for n, _ in lines):
        lines.insert(0, ("Host", authority))
    if hop.post_data is not None and not any(n.lower() == "content-length" for n, _ in lines):
        lines.append(("Content-Length", str(len(hop.post_data))))
    return _render(f"{hop.method} {target} HTTP/1.1", lines)


def reason_phrase(hop: Hop) -> str:
    if hop.status_text:
        return hop.status_text
    try:
        return HTTPStatus(hop.status or 0).phrase
    except ValueError:
        return "Unknown"


def response_head(hop: Hop, stored_length: int) -> bytes:
    if hop.headers_text:
        source = parse_headers_text(hop.headers_text)
    else:
        source = header_lines(hop.raw_response_headers or hop.response_headers)
    lines: list[tuple[str, str]] = []
    for name, value in source:
        lower = name.lower()
        if lower.startswith(":"):
            continue
        if lower in RENAMED_WHEN_DECODED and value.strip().lower() != "identity":
            lines.append((f"X-Orig-{name}", value))
        elif lower == "content-length":
            if value.strip() != str(stored_length):
                lines.append((f"X-Orig-{name}", value))
        else:
            lines.append((name, value))
    lines.append(("Content-Length", str(stored_length)))
    return _render(f"HTTP/1.1 {hop.status} {reason_phrase(hop)}", lines)


def warc_protocols(hop: Hop) -> list[str]:
    """WARC-Protocol values (one field each) beyond plain-text HTTP/1.1: h2, tls/1.3."""
    values: list[str] = []
    proto = (hop.protocol or "").lower()
    if proto and proto != "http/1.1":
        values.append(proto)
    if hop.security and hop.security.get("protocol"):
        values.append(hop.security["protocol"].lower().replace(" ", "/"))
    return values
