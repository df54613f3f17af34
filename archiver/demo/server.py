"""A small threaded HTTP/1.1 server for the bundled demo post site.

Routing is table-driven so other sites (the test fixture web) can extend it:
``routes`` maps exact paths, ``prefix_routes`` maps path prefixes (longest
wins), each to the *name* of a handler method. A subclass extends the tables::

    class MyHandler(DemoHandler):
        routes = {**DemoHandler.routes, "/hello": "serve_hello"}

        def serve_hello(self):
            self.send_html("<p>Hello</p>")
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .requestlog import RecordedRequest, RequestLog

SITE_DIR = Path(__file__).with_name("site")
MEDIA_DIR = SITE_DIR / "media"
POST_PATH = "/post/1"
ORIGIN_PLACEHOLDER = "{{origin}}"

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".ico": "image/x-icon",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".bin": "application/octet-stream",
}
# Media types compressed when the client sends "Accept-Encoding: gzip".
COMPRESSIBLE = {"text/html", "text/javascript", "application/javascript", "text/css", "application/json"}

NOT_FOUND_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body><h1>404</h1><p>Not found here</p><p><a href="/">Home</a></p></body></html>
"""


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


class RoutedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler with a route table and response helpers."""

    protocol_version = "HTTP/1.1"
    server_version = "DemoSocial/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are dropped after this many seconds

    routes: dict[str, str] = {}
    prefix_routes: dict[str, str] = {}

    url_path: str = ""
    query: dict[str, str] = {}

    # ---- dispatch -------------------------------------------------------------

    def do_GET(self) -> None:
        self.dispatch()

    def do_HEAD(self) -> None:
        self.dispatch()

    def dispatch(self) -> None:
        target = urlsplit(self.path)
        self.url_path = unquote(target.path) or "/"
        self.query = {key: values[-1] for key, values in parse_qs(target.query).items()}
        self.server.requests.append(RecordedRequest(
            server=self.server.name,
            method=self.command,
            path=self.path,
            headers={name.lower(): ", ".join(self.headers.get_all(name)) for name in self.headers.keys()},
        ))
        name = self.route_for(self.url_path)
        if name is None:
            self.not_found()
        else:
            getattr(self, name)()

    @classmethod
    def route_for(cls, path: str) -> str | None:
        if path in cls.routes:
            return cls.routes[path]
        for prefix in sorted(cls.prefix_routes, key=len, reverse=True):
            if path.startswith(prefix):
                return cls.prefix_routes[prefix]
        return None

    # ---- helpers for route methods ---------------------------------------------

    @property
    def origin(self) -> str:
        """Scheme and host the client used, e.g. ``http://social.test:8080``."""
        scheme = "https" if self.server.ssl_context is not None else "http"
        host = self.headers.get("Host") or f"{self.server.server_name}:{self.server.server_port}"
        return f"{scheme}://{host}"

    @property
    def stopping(self) -> threading.Event:
        """Set when the server shuts down; long-running handlers wait on it."""
        return self.server.stopping

    def accepts_gzip(self) -> bool:
        for item in self.headers.get("Accept-Encoding", "").split(","):
            coding, _, params = item.strip().partition(";")
            if coding.strip().lower() in ("gzip", "*"):
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    def send_body(
        self,
        body: bytes,
        content_type: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        compress: bool | None = None,
    ) -> None:
        """Send a complete response with Content-Length.

        ``compress``: None negotiates gzip for text types, True always gzips, False never.
        """
        extra = dict(headers or {})
        if compress is None:
            negotiable = content_type.split(";")[0].strip() in COMPRESSIBLE
            if negotiable:
                extra.setdefault("Vary", "Accept-Encoding")
            compress = negotiable and self.accepts_gzip()
        if compress:
            body = gzip.compress(body, mtime=0)
            extra["Content-Encoding"] = "gzip"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_html(self, html: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        extra = {"Cache-Control": "no-cache", **(headers or {})}
        self.send_body(html.encode("utf-8"), CONTENT_TYPES[".html"], status, extra)

    def send_json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        extra = {"Cache-Control": "no-store", **(headers or {})}
        body = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
        self.send_body(body, "application/json", status, extra)

    def send_file(self, path: Path, cache_seconds: int = 3600) -> None:
        self.send_body(path.read_bytes(), content_type_for(path),
                       headers={"Cache-Control": f"public, max-age={cache_seconds}"})

    def redirect(self, location: str, status: int = 302) -> None:
        html = f'<!doctype html><title>Moved</title><p>Moved to <a href="{location}">{location}</a></p>'
        self.send_body(html.encode(), CONTENT_TYPES[".html"], status, {"Location": location}, compress=False)

    def not_found(self) -> None:
        self.send_html(NOT_FOUND_HTML, status=404)

    def serve_tree(self, root: Path, prefix: str) -> None:
        """Serve ``root / (url_path minus prefix)``; 404 outside ``root`` or if missing."""
        relative = self.url_path[len(prefix):]
        candidate = (root / relative).resolve()
        if root.resolve() not in candidate.parents or not candidate.is_file():
            self.not_found()
            return
        self.send_file(candidate)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)


class DemoHandler(RoutedHandler):
    """The demo social-media post site."""

    routes = {
        "/": "redirect_home",
        POST_PATH: "serve_post",
        "/api/replies": "serve_replies",
        "/favicon.ico": "serve_favicon",
    }
    prefix_routes = {
        "/static/": "serve_static",
        "/media/": "serve_media",
    }
    api_delay = 0.0  # seconds; raise it to make the replies API feel like a real backend

    def redirect_home(self) -> None:
        self.redirect(POST_PATH, 302)

    def serve_post(self) -> None:
        self.send_html(render_post(self.origin))

    def serve_replies(self) -> None:
        post_id = self.query.get("post", "")
        replies = load_replies().get(post_id)
        if self.api_delay:
            self.stopping.wait(self.api_delay)
        if replies is None:
            self.send_json({"error": "unknown post", "post": post_id}, status=404)
            return
        self.send_json({"post": post_id, "count": len(replies), "replies": replies})

    def serve_static(self) -> None:
        self.serve_tree(SITE_DIR, "/static/")

    def serve_media(self) -> None:
        self.serve_tree(MEDIA_DIR, "/media/")

    def serve_favicon(self) -> None:
        self.send_file(SITE_DIR / "favicon.ico", cache_seconds=86400)


def render_post(origin: str) -> str:
    """The post page HTML as served to a client that reached the site at ``origin``."""
    return (SITE_DIR / "post.html").read_text("utf-8").replace(ORIGIN_PLACEHOLDER, origin)


def load_replies() -> dict[str, list[dict[str, Any]]]:
    return json.loads((SITE_DIR / "replies.json").read_text("utf-8"))


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that can do TLS per connection and close live connections on stop."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, handler_class, *, name: str, requests: RequestLog,
                 ssl_context: ssl.SSLContext | None, config: dict[str, Any]) -> None:
        self.name = name
        self.requests = requests
        self.ssl_context = ssl_context
        self.config = config
        self.stopping = threading.Event()
        self._live: dict[threading.Thread, socket.socket] = {}
        self._live_lock = threading.Lock()
        super().__init__(address, handler_class)

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind's socket.getfqdn(): a reverse lookup can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address) -> None:  # runs in the worker thread
        if self.stopping.is_set():
            return
        conn = request
        if self.ssl_context is not None:
            request.settimeout(10)
            try:
                conn = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
        me = threading.current_thread()
        with self._live_lock:
            self._live[me] = conn
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            with self._live_lock:
                self._live.pop(me, None)
            if conn is not request:
                self.shutdown_request(conn)

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if self.stopping.is_set() or isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            log.debug("connection from %s ended: %r", client_address, exc)
            return
        super().handle_error(request, client_address)

    def close_live_connections(self, join_timeout: float = 2.0) -> None:
        with self._live_lock:
            live = list(self._live.items())
        for _, conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the other side
        deadline = time.monotonic() + join_timeout
        for thread, _ in live:
            thread.join(max(0.0, deadline - time.monotonic()))


class DemoServer:
    """Serve a site (the demo post by default) on 127.0.0.1 in a daemon thread.

    >>> with DemoServer() as srv:
    ...     srv.url          # 'http://127.0.0.1:PORT'
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        handler_class: type[RoutedHandler] = DemoHandler,
        url_host: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        name: str = "demo",
        config: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.handler_class = handler_class
        self.url_host = url_host or host
        self.ssl_context = ssl_context
        self.name = name
        self.config: dict[str, Any] = config if config is not None else {}
        self.requests = RequestLog()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:PORT``."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.url_host}:{self.port}"

    def url_for(self, path: str = "/") -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    @property
    def post_url(self) -> str:
        return self.url_for(POST_PATH)

    def start(self) -> "DemoServer":
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer(
            (self.host, self.requested_port), self.handler_class, name=self.name,
            requests=self.requests, ssl_context=self.ssl_context, config=self.config,
        )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.name}-server:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.close_live_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> "DemoServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
