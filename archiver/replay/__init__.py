"""Replay: look at a capture or a WACZ in a browser, served from 127.0.0.1 only.

ReplayWeb.page (the project's own copy of the npm package, see scripts/bootstrap.sh) when
it is installed, pywb otherwise. See `archiver.replay.server`.
"""
