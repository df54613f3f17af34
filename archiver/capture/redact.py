"""Keep a login profile's secrets out of the evidence: a logged-in capture's records would
otherwise carry the account's session cookies, and whoever receives an export could sign in
as the account. For every cookie *name* the profile holds, its value is replaced by
`redacted:sha256:<12 hex>` in `Cookie` request headers and in `Set-Cookie` response headers
(a refreshed session token is as secret as the saved one); and wherever such a value (of 8
characters or more) appears in another request header — X sends its `ct0` cookie again as
`x-csrf-token`. Equal values get equal tags, so
requests can still be told apart and matched to the profile file by whoever holds it.
Bodies and every other header are untouched. Counted in provenance.profile.redacted."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .exchange import Exchange


MIN_ECHO = 8  # shorter values ("1", "en") are not looked for in other headers


def tag(value: str) -> str:
    return "redacted:sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


class CookieRedactor:
    def __init__(self, storage_state: dict[str, Any] | None):
        cookies = (storage_state or {}).get("cookies", [])
        self.names = {c["name"] for c in cookies if c.get("name")}
        self.values = {c["value"] for c in cookies if len(c.get("value") or "") >= MIN_ECHO}
        self.redacted = 0  # header values changed

    def cookie_header(self, value: str) -> str:
        pieces = []
        for piece in value.split(";"):
            name, eq, val = piece.strip().partition("=")
            if eq and name in self.names and not val.startswith("redacted:"):
                piece = f"{name}={tag(val)}"
                self.redacted += 1
                self._learn(val)
            pieces.append(piece.strip())
        return "; ".join(pieces)

    def set_cookie_header(self, value: str) -> str:
        lines = []
        for line in value.split("\n"):  # CDP joins several Set-Cookie headers with newlines
            name, eq, rest = line.partition("=")
            if eq and name.strip() in self.names:
                val, semi, attrs = rest.partition(";")
                line = f"{name.strip()}={tag(val)}{semi}{attrs}"
                self.redacted += 1
                self._learn(val)
            lines.append(line)
        return "\n".join(lines)

    def _learn(self, value: str) -> None:
        if len(value) >= MIN_ECHO:
            self.values.add(value)

    def _echoes(self, headers: dict[str, str] | None) -> None:
        """A profile cookie's value repeated in another request header."""
        for key in list(headers or {}):
            if key.lower() == "cookie":
                continue
            value = headers[key]  # type: ignore[index]
            for secret in self.values:
                if secret in value:
                    value = value.replace(secret, tag(secret))
                    self.redacted += 1
            headers[key] = value  # type: ignore[index]

    def _headers(self, headers: dict[str, str] | None, which: str) -> None:
        for key in list(headers or {}):
            if key.lower() == which:
                fix = self.cookie_header if which == "cookie" else self.set_cookie_header
                headers[key] = fix(headers[key])  # type: ignore[index]

    def _text(self, text: str | None) -> str | None:
        if not text:
            return text
        return re.sub(
            r"(?im)^(set-cookie:[ \t]*)(.*?)(\r?)$",
            lambda m: m.group(1) + self.set_cookie_header(m.group(2)) + m.group(3),
            text,
        )

    def apply(self, ex: Exchange) -> None:
        if not self.names:
            return
        for hop in ex.hops:
            self._headers(hop.request_headers, "cookie")
            self._headers(hop.raw_request_headers, "cookie")
            self._headers(hop.response_headers, "set-cookie")
            self._headers(hop.raw_response_headers, "set-cookie")
            hop.headers_text = self._text(hop.headers_text)
            self._echoes(hop.request_headers)
            self._echoes(hop.raw_request_headers)
