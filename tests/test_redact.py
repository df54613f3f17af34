"""What the profile redactor takes out of a logged-in capture's headers, and what it leaves.
The whole path (a real browser sending these headers, the WARC on disk) is in
test_post_stage.py::test_profile_shows_the_post_and_media_fetched_in_page."""

from __future__ import annotations

import json

from archiver.capture.exchange import Exchange, Hop
from archiver.capture.redact import ProfileRedactor, storage_tokens, tag

JWT = "eyJhbGciOiJFUzI1NksifQ.eyJzY29wZSI6ImNvbS5hdHByb3RvLnJlZnJlc2gifQ.c2lnbmF0dXJlMDEyMw"


def state(local: list[tuple[str, str]], cookies: list[tuple[str, str]] = ()) -> dict:
    return {
        "cookies": [{"name": n, "value": v, "domain": "example.test", "path": "/"} for n, v in cookies],
        "origins": [{"origin": "https://example.test", "localStorage": [{"name": n, "value": v} for n, v in local]}],
    }


def exchange(**headers: str) -> Exchange:
    hop = Hop(url="https://example.test/api", method="GET", request_headers=dict(headers))
    return Exchange(request_id="1", target_type="page", hops=[hop])


def test_token_like_values_of_local_storage_are_secrets_and_paths_or_words_are_not():
    nested = json.dumps({"session": {"refreshJwt": JWT, "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "handle": "dewi.bsky.social"}})
    found = storage_tokens(state([
        ("BSKY_STORAGE", nested),
        ("double", json.dumps(json.dumps({"token": "a1b2c3d4e5f6a7b8c9d0e1f2"}))),  # JSON in a JSON string
        ("path", "/home/notifications/all/2026"),
        ("words", "remember-me-on-this-computer"),  # no digit
        ("short", "abc123"),
        ("broken", "{not json 0123456789abcdefghij"),
    ]))
    assert found == {JWT, "a1b2c3d4e5f6a7b8c9d0e1f2"}


def test_authorization_keeps_its_scheme_and_echoes_are_tagged():
    redactor = ProfileRedactor(state([("auth", json.dumps({"accessJwt": JWT}))], cookies=[("sid", "cookie-value-123")]))
    ex = exchange(**{
        "Authorization": f"Bearer {JWT}", "Proxy-Authorization": "opaque0123456789",
        "X-Echo": f"sid=cookie-value-123 jwt={JWT}", "Accept": "application/json",
        "Cookie": "sid=cookie-value-123; lang=en",
    })
    redactor.apply(ex)
    headers = ex.last.request_headers
    assert headers["Authorization"] == f"Bearer {tag(JWT)}"
    assert headers["Proxy-Authorization"] == tag("opaque0123456789")
    assert headers["X-Echo"] == f"sid={tag('cookie-value-123')} jwt={tag(JWT)}"
    assert headers["Cookie"] == f"sid={tag('cookie-value-123')}; lang=en"
    assert headers["Accept"] == "application/json"
    assert redactor.redacted == 5
    redactor.apply(ex)  # recorded twice (a revisit, a retry): nothing tagged again
    assert ex.last.request_headers == headers and redactor.redacted == 5


def test_an_unknown_bearer_token_is_learnt_and_tagged_where_it_is_echoed():
    redactor = ProfileRedactor(state([]))
    first, second = exchange(Authorization="Bearer server-issued-0123456789"), exchange(**{"X-Token": "server-issued-0123456789"})
    redactor.apply(first)
    redactor.apply(second)
    assert first.last.request_headers["Authorization"] == f"Bearer {tag('server-issued-0123456789')}"
    assert second.last.request_headers["X-Token"] == tag("server-issued-0123456789")


def test_a_capture_without_a_profile_is_untouched():
    redactor = ProfileRedactor(None)
    ex = exchange(Authorization="Bearer AAAAAAAAAAAAAAAAAAAAAguest0123456789", Cookie="sid=abcdefgh12345")
    redactor.apply(ex)
    assert ex.last.request_headers == {"Authorization": "Bearer AAAAAAAAAAAAAAAAAAAAAguest0123456789", "Cookie": "sid=abcdefgh12345"}
    assert redactor.redacted == 0


def test_credential_fields_in_bodies_are_tagged_and_nothing_else_changes():
    redactor = ProfileRedactor(state([]))
    body = (b'{"did": "did:plc:ewvi7nxz", "accessJwt":"eyJ\\/a.b.c", "refreshJwt" : "eyJr.s.t",'
            b' "handle": "dewi", "text": "my access_token is \\"x\\"", "user": {"password": "pw"}}')
    new, fields = redactor.body(body, "application/json; charset=utf-8")
    assert fields == ["accessJwt", "refreshJwt", "password"]
    assert new == (b'{"did": "did:plc:ewvi7nxz", "accessJwt":"' + tag("eyJ\\/a.b.c").encode() + b'", "refreshJwt" : "'
                   + tag("eyJr.s.t").encode() + b'", "handle": "dewi", "text": "my access_token is \\"x\\"",'
                   b' "user": {"password": "' + tag("pw").encode() + b'"}}')
    assert redactor.body(new, "application/json") == (new, [])  # already tagged: left as is
    form = b"grant_type=refresh_token&refresh_token=rt-0123456789&client_id=web"
    assert redactor.body(form, "application/x-www-form-urlencoded")[0] == (
        b"grant_type=refresh_token&refresh_token=" + tag("rt-0123456789").encode() + b"&client_id=web")
    # media and unknown types are not scanned, whatever bytes they hold
    assert redactor.body(b'"accessJwt":"abcdefgh12"', "image/jpeg") == (b'"accessJwt":"abcdefgh12"', [])


def test_a_body_refresh_is_recorded_and_its_new_token_tagged_in_later_headers():
    redactor = ProfileRedactor(state([]))
    answer = exchange()
    answer.last.status, answer.last.mime_type = 200, "application/json"
    answer.last.body = b'{"accessJwt": "eyJnew.access.token0123"}'
    redactor.apply(answer)
    assert answer.last.body == b'{"accessJwt": "' + tag("eyJnew.access.token0123").encode() + b'"}'
    assert redactor.bodies == ["response https://example.test/api (accessJwt)"]
    later = exchange(**{"X-Session": "eyJnew.access.token0123"})
    redactor.apply(later)
    assert later.last.request_headers["X-Session"] == tag("eyJnew.access.token0123")


def test_bodies_of_a_capture_without_a_profile_are_untouched():
    ex = exchange()
    ex.last.status, ex.last.mime_type, ex.last.body = 200, "application/json", b'{"access_token": "public-demo-token-1"}'
    ProfileRedactor(None).apply(ex)
    assert ex.last.body == b'{"access_token": "public-demo-token-1"}'
