"""Keep a login profile's secrets out of the evidence: a logged-in capture's records would
otherwise carry the account's session, and whoever receives an export could sign in as the
account. In a capture with a profile, the WARC's headers get `redacted:sha256:<12 hex>` for:
- the value of every cookie the profile holds (by name), in `Cookie` request headers and
  `Set-Cookie` response headers (a refreshed session token is as secret as the saved one);
- the credentials of `Authorization` and `Proxy-Authorization` request headers (the scheme,
  `Bearer`, stays): sites that keep their session in local storage send it this way
  (Bluesky's refresh token is good for months);
- any of those values (8 characters or more), and any token-like string the profile keeps in
  local storage (20+ characters of letters, digits and `._~+/=-`, with a letter and a digit),
  wherever a page repeats it in another request header: X sends its `ct0` cookie again as
  `x-csrf-token`.
And in bodies (responses, and requests' POST data) of JSON, text, script or form type, the
value of a field named like a credential (`accessJwt`, `refreshJwt`, `access_token`,
`refreshToken`, `id_token`, `session_token`, `oauth_token(_secret)`, `client_secret`,
`password`): a session refresh during the capture (Bluesky's `refreshSession`, an OAuth
token endpoint) answers with a new, live token in its body. Only that value changes, byte for
byte the rest stays; each such record is listed in provenance.profile.redacted_bodies.
Equal values get equal tags, so requests can still be told apart and matched to the profile
file by whoever holds it. URLs and every other header and field are untouched (they are the
evidence). Counted in provenance.profile.redacted. A capture without a profile is untouched."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .exchange import Exchange, Hop


MIN_ECHO = 8  # shorter values ("1", "en") are not looked for in other headers
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{20,}")
SECRET_FIELD = rb"(?:access|refresh|id|auth|session|oauth)_?(?:token|jwt)(?:_secret)?|client_secret|password"
JSON_SECRET = re.compile(rb'"(' + SECRET_FIELD + rb')"(\s*:\s*")((?:[^"\\]|\\.)+)"', re.I)
FORM_SECRET = re.compile(rb"(?:(?<=^)|(?<=&))(" + SECRET_FIELD + rb")(=)([^&\s]+)", re.I)
TEXT_TYPES = ("json", "text", "javascript", "x-www-form-urlencoded")
MAX_BODY_SCAN = 8 * 1024 * 1024  # larger bodies are media or bundles, not token answers
MAX_LISTED = 100  # redacted_bodies entries kept in provenance


def tag(value: str) -> str:
    return "redacted:sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def token_like(value: str) -> bool:
    return (
        TOKEN.fullmatch(value) is not None and value[0] not in "/."
        and any(c.isalpha() for c in value) and any(c.isdigit() for c in value)
    )


def storage_tokens(storage_state: dict[str, Any]) -> set[str]:
    """Token-like strings in the profile's local storage: whole values, and the string leaves
    of values that are JSON (Bluesky keeps {"session": {"accessJwt": ..., "refreshJwt": ...}})."""
    found: set[str] = set()
    todo: list[Any] = [
        item.get("value") or ""
        for origin in storage_state.get("origins") or []
        for item in origin.get("localStorage") or []
    ]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, str):
            if value[:1] in ("{", "[", "\""):  # JSON, or JSON kept as a JSON string
                try:
                    todo.append(json.loads(value))
                    continue
                except ValueError:
                    pass
            if token_like(value):
                found.add(value)
    return found


class ProfileRedactor:
    def __init__(self, storage_state: dict[str, Any] | None):
        self.active = storage_state is not None
        state = storage_state or {}
        cookies = state.get("cookies") or []
        self.names = {c["name"] for c in cookies if c.get("name")}
        self.values = {c["value"] for c in cookies if len(c.get("value") or "") >= MIN_ECHO}
        self.values |= storage_tokens(state)
        self.redacted = 0  # header values and body fields changed
        self.bodies: list[str] = []  # "<response|request> <url> (<fields>)"

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

    def _authorization(self, headers: dict[str, str] | None) -> None:
        for key in list(headers or {}):
            value = headers[key]  # type: ignore[index]
            if key.lower() not in AUTH_HEADERS or "redacted:" in value:
                continue
            scheme, _, credentials = value.strip().partition(" ")
            if credentials.strip():  # "Bearer abc…": the scheme says what kind it was
                secret = credentials.strip()
                headers[key] = f"{scheme} {tag(secret)}"  # type: ignore[index]
            else:
                secret = value
                headers[key] = tag(secret)  # type: ignore[index]
            self.redacted += 1
            self._learn(secret)

    def _echoes(self, headers: dict[str, str] | None) -> None:
        """A profile secret repeated in another request header."""
        for key in list(headers or {}):
            if key.lower() == "cookie" or key.lower() in AUTH_HEADERS:
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

    def body(self, data: bytes, content_type: str | None) -> tuple[bytes, list[str]]:
        """`data` with the values of credential-named JSON / form fields tagged, and the
        names of the fields that were."""
        kind = (content_type or "").lower()
        if not data or len(data) > MAX_BODY_SCAN or not any(t in kind for t in TEXT_TYPES):
            return data, []
        fields: list[str] = []

        def swap(m: re.Match[bytes]) -> bytes:
            value = m.group(3).decode("utf-8", "replace")
            if value.startswith("redacted:"):
                return m.group(0)
            fields.append(m.group(1).decode("ascii", "replace"))
            self._learn(value)  # a new token, sent again in a header later, is tagged there too
            quote = b'"' if m.re is JSON_SECRET else b""
            head = b'"' + m.group(1) + b'"' if quote else m.group(1)
            return head + m.group(2) + tag(value).encode() + quote

        data = JSON_SECRET.sub(swap, data)
        if "x-www-form-urlencoded" in kind:
            data = FORM_SECRET.sub(swap, data)
        return data, fields

    def _bodies(self, hop: Hop) -> None:
        headers = {k.lower(): v for k, v in (hop.request_headers or {}).items()}
        for side, data, kind in (
            ("response", hop.body, hop.mime_type),
            ("request", hop.post_data, headers.get("content-type")),
        ):
            if not data:
                continue
            new, fields = self.body(data, kind)
            if not fields:
                continue
            if side == "response":
                hop.body = new  # the stored response head gets its Content-Length from this
            else:
                hop.post_data = new
                for sent in (hop.request_headers, hop.raw_request_headers):
                    for key in list(sent or {}):
                        if key.lower() == "content-length":
                            sent[key] = str(len(new))  # type: ignore[index]
            self.redacted += len(fields)
            if len(self.bodies) < MAX_LISTED:
                self.bodies.append(f"{side} {hop.url[:300]} ({', '.join(sorted(set(fields)))})")

    def apply(self, ex: Exchange) -> None:
        if not self.active:
            return
        for hop in ex.hops:
            self._headers(hop.request_headers, "cookie")
            self._headers(hop.raw_request_headers, "cookie")
            self._authorization(hop.request_headers)
            self._authorization(hop.raw_request_headers)
            self._headers(hop.response_headers, "set-cookie")
            self._headers(hop.raw_response_headers, "set-cookie")
            hop.headers_text = self._text(hop.headers_text)
            self._bodies(hop)
            self._echoes(hop.request_headers)
            self._echoes(hop.raw_request_headers)
