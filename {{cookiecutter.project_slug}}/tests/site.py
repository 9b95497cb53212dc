"""A website served on loopback by the test itself: pages, robots.txt and sitemaps from a dict.

It answers ``If-None-Match`` with 304 like a real server, and records each request.
"""

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Site:
    pages: dict[str, str]  # path: body (HTML, or text for robots.txt, XML for sitemaps)
    url: str = ""
    status: dict[str, int] = field(default_factory=dict)  # path: status other than 200
    requests: list[tuple[float, str, str | None]] = field(default_factory=list)  # time, path, ETag
    posts: list[bytes] = field(default_factory=list)  # bodies POSTed to any path (webhooks)

    def fetched(self, path: str) -> int:
        return sum(1 for _, requested, _ in self.requests if requested == path)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append((time.monotonic(), self.path, self.headers.get("If-None-Match")))
            status = site.status.get(self.path, 200 if self.path in site.pages else 404)
            body = site.pages.get(self.path, "not found").encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(status)
            kind = "text/plain" if self.path.endswith(".txt") else "text/html; charset=utf-8"
            self.send_header("Content-Type", "application/xml" if ".xml" in self.path else kind)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            site.posts.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(site: Site) -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
