"""Private-address blocking, checked on the resolved IP of every request of the page."""

from __future__ import annotations

import asyncio

import pytest
from helpers import EngineThread, provenance, responses, make_settings, warc_records

from archiver.capture.netguard import BadURL, NetGuard, is_private_address, table_resolver, validate_url


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/file", "javascript:alert(1)", "file:///etc/passwd", "http://", "http://exa mple.org/", "http://[::1", "example.org/post", ""],
)
def test_bad_urls_rejected(url):
    with pytest.raises(BadURL):
        validate_url(url)


@pytest.mark.parametrize(
    "ip,private",
    [("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.10", True), ("172.16.5.4", True),
     ("169.254.169.254", True), ("::1", True), ("fe80::1", True), ("::ffff:127.0.0.1", True),
     ("100.64.0.1", True), ("0.0.0.0", True), ("8.8.8.8", False), ("2606:4700::1111", False)],
)
def test_private_addresses(ip, private):
    assert is_private_address(ip) is private


def test_guard_checks_resolved_names():
    guard = NetGuard(False, table_resolver({"public.test": ["93.184.216.34"], "inside.test": ["10.0.0.5"]}))
    check = lambda url: asyncio.run(guard.check(url))  # noqa: E731
    assert check("http://public.test/") is None
    assert "10.0.0.5" in check("http://inside.test/x")
    assert "127.0.0.1" in check("http://127.0.0.1:8080/")
    assert check("data:text/plain,hi") is None


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """An engine that blocks private addresses; the page itself is let through by name."""
    settings = make_settings(tmp_path_factory.mktemp("guarded"))
    settings.network.allow_private = False
    # social.test resolves (for our guard) to a public address; cdn.test to a private one.
    resolver = table_resolver({"social.test": ["93.184.216.34"], "cdn.test": ["10.0.0.7"]})
    runner = EngineThread(settings, resolver=resolver)
    yield runner
    runner.close()


def test_private_subrequests_blocked_and_logged(guarded, web):
    cdn_seen_before = len(web.cdn_server.requests)
    result = guarded.capture(f"{web.main}/iframe")
    prov = provenance(result)
    records = warc_records(result.path / "archive.warc.gz")
    assert responses(records, "/iframe"), "the page itself (public by our resolver) loads"
    assert not responses(records, "cdn.test"), "nothing from the private host is recorded"
    blocked = [f for f in prov["failed_requests"] if f["blocked"]]
    assert any("cdn.test" in f["url"] and "10.0.0.7" in f["error"] for f in blocked), blocked
    assert len(web.cdn_server.requests) == cdn_seen_before, "the browser never reached it"


def test_private_page_is_a_failed_capture(guarded, web):
    result = guarded.capture(f"http://127.0.0.1:{web.main_port}/post/1")
    prov = provenance(result)
    assert prov["state"] == "failed"
    assert "private" in prov["failure"]
    assert any(f["blocked"] for f in prov["failed_requests"])
