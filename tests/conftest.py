"""Shared fixtures: one fixture web (three servers on 127.0.0.1) and one capture engine
(one real Chromium) for the whole session; each capture gets its own browser context."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fixtures.platform_web import PlatformWeb
from fixtures.site import FixtureWeb
from fixtures.tsa import LocalTSA
from helpers import EngineThread, make_settings


@pytest.fixture(scope="session")
def web():
    with FixtureWeb() as w:
        yield w


@pytest.fixture(scope="session")
def platform_web():
    """The platforms' fixture pages (x.com, t.me, bsky.app, ...) on one 127.0.0.1 server."""
    with PlatformWeb() as w:
        yield w


@pytest.fixture(scope="session")
def captures_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("captures")


@pytest.fixture(scope="session")
def tsa(tmp_path_factory):
    """A real RFC 3161 TSA (openssl ts -reply) on 127.0.0.1, with its own test root CA."""
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as authority:
        yield authority


@pytest.fixture(scope="session")
def engine(captures_dir, tsa):
    runner = EngineThread(make_settings(captures_dir, tsa_url=tsa.url, tsa_root=tsa.ca_cert_path))
    yield runner
    runner.close()


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
