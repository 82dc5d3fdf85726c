"""A counting HTTP proxy on 127.0.0.1 for the request-count tests of remote stores: every
request is forwarded to an upstream server (moto's S3 server) and counted by method."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from _local_server import LocalServer

_HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length")


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _forward(self) -> None:
        server = self.server
        with server.lock:
            server.counts[self.command] += 1
            server.requests.append((self.command, self.path))
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
        try:
            time.sleep(server.delay)
            self._relay()
        finally:
            with server.lock:
                server.in_flight -= 1

    def _relay(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        up = urlsplit(server.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", resp.getheader("Content-Length", str(len(data))))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward


class CountingProxy(LocalServer):
    """Forward to ``upstream`` (``http://host:port``), counting requests per HTTP method.

    ``counts`` is a Counter of methods, ``requests`` the list of ``(method, path)``,
    ``most_in_flight`` the most requests seen at once; :meth:`reset` clears them. ``delay``
    (seconds) holds every request before it is forwarded. Use as a context manager (starts
    and stops the serving thread).
    """

    def __init__(self, upstream: str):
        super().__init__(_ProxyHandler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []
        #: seconds each request waits before it is forwarded (makes concurrency visible)
        self.delay = 0.0
        self.in_flight = self.most_in_flight = 0

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.requests.clear()
            self.most_in_flight = 0
