"""A read-only HTTP server on 127.0.0.1 that answers ``Range`` requests (``bytes=a-b``,
``bytes=a-``, ``bytes=-n``) with 206 and counts its GETs: ``http.server``'s own handler ignores
``Range`` and sends whole files, which a sharded array's index read (a suffix range) cannot use.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections import Counter
from pathlib import Path

from _local_server import LocalServer

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _body(self) -> bytes | None:
        root: Path = self.server.root  # type: ignore[attr-defined]
        target = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if root not in target.parents or not target.is_file():
            return None
        return target.read_bytes()

    def do_GET(self):
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.counts["GET"] += 1  # type: ignore[attr-defined]
        data = self._body()
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = 200, data
        match = _RANGE.match(self.headers.get("Range", ""))
        if match:
            first, last = match.groups()
            if first:
                start, stop = int(first), (int(last) + 1 if last else len(data))
            else:
                start, stop = max(len(data) - int(last), 0), len(data)
            status, body = 206, data[start:stop]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RangeServer(LocalServer):
    """Serve the folder ``root`` read-only; ``counts["GET"]`` counts requests. Use as a context
    manager (starts and stops the serving thread); ``url`` is its base address."""

    def __init__(self, root):
        super().__init__(_RangeHandler)
        self.root = Path(root).resolve()
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
