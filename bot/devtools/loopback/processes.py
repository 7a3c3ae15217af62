"""Real server processes on 127.0.0.1 for tests and the benchmark: a Chroma server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def bot_command() -> list[str]:
    """How to run `career-bot` with this interpreter: its script beside it when installed, else
    `python -m bot.cli`."""
    beside = Path(sys.executable).with_name("career-bot")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str, timeout_s: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url` until it answers 2xx; fail early if `proc` exits."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if 200 <= resp.status < 300:
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s: {last}")


def _chroma_exe() -> list[str]:
    beside = Path(sys.executable).with_name("chroma")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("chroma")
    if found:
        return [found]
    raise FileNotFoundError("the `chroma` command (from the chromadb package) is not installed")


@dataclass
class ChromaServer:
    """`chroma run --path DIR --host 127.0.0.1 --port P`, started and stopped on demand.

    Stopping and starting again keeps the same path and port, as a restarted server would.
    """

    path: Path
    port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ChromaServer:
        self.path.mkdir(parents=True, exist_ok=True)
        log_path = self.log or self.path.parent / f"chroma-{self.port}.log"
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *_chroma_exe(),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                start_new_session=True,
            )
        wait_http(f"{self.url}/api/v2/heartbeat", timeout_s, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> ChromaServer:
        return self.start() if not self.running else self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
