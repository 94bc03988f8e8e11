"""A local stand-in for www.nzherald.co.nz that fails on purpose, reached as an HTTPS proxy.

The crawler keeps its real URLs: its ``https_proxy`` environment variable points at this
server, which accepts ``CONNECT www.nzherald.co.nz:443``, answers TLS with a throw-away
self-signed certificate, and serves pages from a wget-style mirror, except for the paths
given faults (500, 503, 429 with ``Retry-After``, slow answers, connection resets,
redirects). Every request it sees is recorded with its time, so tests can check what the
crawler asked for and when.

Loopback only; it stops by itself after ``lifetime`` seconds or ``max_requests`` requests.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from herald_spider.replay import mirror_path

HOST = "www.nzherald.co.nz"
#: Every page sets this cookie; it must never come back, nor reach the log or the dataset.
SESSION_COOKIE = "nzh_session=SECRET-SESSION-d41d8cd98f00b204"


@dataclass(frozen=True)
class Answer:
    """One answer for a path: a status with headers and body, a reset, or a slow answer."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reset: bool = False
    delay: float = 0.0


def status(code: int, **headers: str) -> Answer:
    return Answer(code, tuple((k.replace("_", "-"), v) for k, v in headers.items()), f"HTTP {code}".encode())


def redirect(location: str, code: int = 301) -> Answer:
    return Answer(code, (("Location", location),))


RESET = Answer(reset=True)


def slow(seconds: float) -> Answer:
    """The mirror's page, but only after ``seconds`` (past the crawler's timeout)."""
    return Answer(delay=seconds)


@dataclass
class Seen:
    method: str
    host: str
    path: str
    at: float
    answer: str
    #: Cookie or Authorization headers the crawler sent (it should send none)
    credentials: tuple[str, ...] = ()


@dataclass
class FaultySite:
    mirror: Path
    certificate: tuple[Path, Path]
    #: path (with query) -> answers given in order; when used up, the mirror answers.
    faults: dict[str, Iterable[Answer]] = field(default_factory=dict)
    lifetime: float = 120.0
    max_requests: int = 1000
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: dict[str, deque[Answer]] = defaultdict(deque)
        for path, answers in self.faults.items():
            self._faults[path].extend(answers)
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, self.certificate))
        site = self

        class Handler(_Handler):
            tls = context
            owner = site

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultySite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self.server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self.server.shutdown()
        self.server.server_close()

    def next_answer(self, method: str, host: str, path: str, credentials: tuple[str, ...] = ()) -> Answer:
        with self._lock:
            queue = self._faults.get(path)
            answer = queue.popleft() if queue else None
            if len(self.seen) >= self.max_requests:
                answer = RESET
            if answer is None or (answer.delay and not answer.reset and answer.status == 200):
                answer = self._from_mirror(host, path, answer.delay if answer else 0.0)
            what = "reset" if answer.reset else f"{answer.status}" + (" slow" if answer.delay else "")
            self.seen.append(Seen(method, host, path, time.monotonic(), what, credentials))
            return answer

    def _from_mirror(self, host: str, path: str, delay: float) -> Answer:
        file = mirror_path(self.mirror, f"https://{host}{path}")
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file():
            return Answer(404, (("Content-Type", "text/plain"),), b"Not found", delay=delay)
        kind = "text/plain" if file.name == "robots.txt" else "text/html; charset=utf-8"
        headers = (("Content-Type", kind), ("Set-Cookie", f"{SESSION_COOKIE}; Path=/; Secure"))
        return Answer(200, headers, file.read_bytes(), delay=delay)

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path and s.method == "GET"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tls: ssl.SSLContext
    owner: FaultySite
    tunnel_host = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_CONNECT(self) -> None:
        host, _, _ = self.path.partition(":")
        self.owner.seen.append(Seen("CONNECT", host, "", time.monotonic(), "tunnel"))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            connection = self.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.connection = connection
        self.rfile = connection.makefile("rb", self.rbufsize)
        self.wfile = connection.makefile("wb", 0)
        self.tunnel_host = host
        self.close_connection = False

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        host = parts.hostname or self.tunnel_host or self.headers.get("Host", "")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        credentials = tuple(name for name in ("Cookie", "Authorization") if name in self.headers)
        answer = self.owner.next_answer("GET", host, path, credentials)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


def crawl_through(
    site: FaultySite, args: list[str], settings: dict[str, Any], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl *args`` with ``-s`` settings, in a subprocess whose requests go through
    ``site`` (its proxy variables replace any of the environment's)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"no_proxy", "http_proxy", "https_proxy"}}
    env["https_proxy"] = env["http_proxy"] = site.proxy
    command = [sys.executable, "-m", "scrapy", "crawl", *args]
    command += [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    project = Path(__file__).resolve().parents[1]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for the site's host (the crawler does not verify it, as
    Scrapy does not by default)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "site.crt", directory / "site.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file
