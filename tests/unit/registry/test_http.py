"""The transport's keep-alive pool, against a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import threading

import pytest

from dockyard.errors import Unavailable
from dockyard.registry._http import Pool, open_url


class _Server:
    def __init__(self, drop_after_each: bool) -> None:
        self.connections = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                outer.connections += 1

            def do_GET(self) -> None:
                body = b"hello"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                # Close without saying so: the client's idle connection goes stale.
                self.close_connection = drop_after_each

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/x"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(("drop", "connections"), [(False, 1), (True, 3)],
                         ids=["keep-alive", "stale"])
def test_pool_reuses_or_replaces_connections(drop: bool, connections: int) -> None:
    server = _Server(drop_after_each=drop)
    try:
        pool = Pool()
        for _ in range(3):
            assert open_url("GET", server.url, pool=pool).read() == b"hello"
        pool.close()
    finally:
        server.stop()
    # Kept alive: one connection serves all three; closed by the server while idle: the
    # stale one is noticed and replaced each time, and every request still succeeds.
    assert server.connections == connections


def test_unreachable_is_one_line() -> None:
    s = _Server(drop_after_each=False)
    url = s.url
    s.stop()
    with pytest.raises(Unavailable) as err:
        open_url("GET", url)
    assert "\n" not in str(err.value)
    assert "is not reachable" in str(err.value)
