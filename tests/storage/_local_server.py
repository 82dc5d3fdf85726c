"""The part the test HTTP servers share: a threaded server on 127.0.0.1 (a free port), served
from a daemon thread while used as a context manager."""

from __future__ import annotations

import http.server
import threading
from typing import Self


class LocalServer(http.server.ThreadingHTTPServer):
    """Serve ``handler`` on 127.0.0.1; ``url`` is the base address. ``with`` starts the serving
    thread and stops it (and closes the socket) on exit."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
