"""A private ``redis-server`` on a unix socket in a folder of its own, for tests and benchmarks.

``with RedisServer(folder) as redis: ... redis.url ...`` starts Debian's ``redis-server`` (no TCP
port, nothing saved unless ``persist``) and stops it on leaving; ``stop()`` and ``start()`` take
it away and bring it back mid-test (with ``persist``, its data survives: an append-only file
written through on every command).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

#: Where Debian's package puts the server, when it is not on PATH.
_DEBIAN = Path("/usr/bin/redis-server")


def redis_server_binary() -> str | None:
    """The ``redis-server`` program, or None when it is not installed."""
    found = shutil.which("redis-server")
    if found:
        return found
    return str(_DEBIAN) if _DEBIAN.exists() else None


class RedisServer:
    def __init__(self, folder: Path, *, persist: bool = False) -> None:
        self.folder = folder
        self.persist = persist
        self.socket = folder / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self, timeout: float = 10.0) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        options = ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        options += ["--dir", str(self.folder), "--save", "", "--daemonize", "no", "--logfile", "redis.log"]
        if self.persist:
            options += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            options += ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.folder / "redis.log"
                raise RuntimeError(f"redis-server exited: {log.read_text() if log.exists() else ''}")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.socket} within {timeout} s")

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(1.0)
                client.connect(str(self.socket))
                client.sendall(b"PING\r\n")
                return client.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
