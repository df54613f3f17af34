"""The bundled demo social-media post site and the server that serves it offline."""

from .requestlog import RecordedRequest, RequestLog
from .server import SITE_DIR, DemoHandler, DemoServer, RoutedHandler

__all__ = ["SITE_DIR", "DemoHandler", "DemoServer", "RecordedRequest", "RequestLog", "RoutedHandler"]
