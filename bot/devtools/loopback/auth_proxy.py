"""A token-checking, optionally TLS-terminating reverse proxy on 127.0.0.1.

`chroma run` enforces no authentication and speaks plain HTTP, so a shared Chroma server is
protected by a proxy in front of it (nginx, Envoy, Caddy, ...). This is the smallest such proxy,
for tests: it refuses a request without the expected header (401) or with another value (403),
and forwards every other request to the real server unchanged.
"""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Not forwarded: they describe one connection, not the request.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
}


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `host` and its key, made with the `openssl` command; the certificate
    is its own CA (give it as CHROMA_CA_FILE)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the `openssl` command is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "proxy-cert.pem", directory / "proxy-key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=IP:{host}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Seen:
    """One request as the proxy received it."""

    method: str
    path: str
    headers: dict[str, str]
    allowed: bool


@dataclass
class TokenProxy:
    """Forwards to `upstream_port` on 127.0.0.1 requests whose `header` is exactly `value`.

    Start it with `start()` (a background thread) or as a context manager; `seen` lists the
    requests received, `port` is where it listens.
    """

    upstream_port: int
    header: str
    value: str
    certificate: tuple[Path, Path] | None = None
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return int(self._server.server_address[1])

    def start(self) -> TokenProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads `seen`, not a log

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                got = self.headers.get(proxy.header)
                allowed = got == proxy.value
                proxy.seen.append(Seen(self.command, self.path, headers, allowed))
                if not allowed:
                    status = 401 if got is None else 403
                    self._reply(
                        status,
                        json.dumps({"detail": "Unauthorized" if got is None else "Forbidden"}),
                        {"Content-Type": "application/json"},
                    )
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=forwarded)
                    response = upstream.getresponse()
                    data = response.read()
                    kept = {
                        k: v
                        for k, v in response.getheaders()
                        if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
                    }
                    self._reply(response.status, data, kept)
                finally:
                    upstream.close()

            def _reply(self, status: int, body: str | bytes, headers: dict[str, str]) -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.certificate[0]), str(self.certificate[1]))
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> TokenProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
