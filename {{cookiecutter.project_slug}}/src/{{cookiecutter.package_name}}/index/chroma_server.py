"""The project's own Chroma server: one per data folder, on loopback, started by the first process that
needs it and shared by every other (the UI, Airflow's task processes, the command line).

Embedded Chroma keeps its index in the memory of the process that opened it: after another process
writes, a process that did not fails on its next query ("Error finding id") until it restarts. A server
holds the only copy, so every process sees every write, and Airflow's tasks may write at the same time.
The server outlives the process that started it, watched by a small process of this module's own: it
ends the server once no process that asked for it has been alive for ``idle_minutes``, or at once when
its data folder is deleted (a test's temporary folder, a project removed), so short commands do not
leave servers behind. ``stop_server`` (``make stop``) ends it too; the next use starts it again.
"""

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from shutil import which

from ..security.private_files import private_dir

STATE_FILE = "chroma-server.json"
LOCK_FILE = "chroma-server.lock"
LOG_FILE = "chroma-server.log"
CLIENTS_DIR = "chroma-clients"  # a file per process that asked for the server, named by its pid
DEFAULT_IDLE_MINUTES = 15.0
# Chroma's server logs every request at INFO (about 5 kB a question, a log that only grows): warnings
# and errors only, unless RUST_LOG is set.
SERVER_ENV = {"RUST_LOG": "warn"}
START_TIMEOUT_S = 60


class ChromaServerError(RuntimeError):
    """The project's Chroma server could not be started; the message says where its log is."""


@dataclass(frozen=True)
class ServerState:
    pid: int  # the watcher's: signalling it stops the server
    port: int
    path: str  # the folder it serves

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_url(data_dir: Path, idle_minutes: float = DEFAULT_IDLE_MINUTES) -> str:
    """The URL of the server for ``data_dir/chroma``, started first if none answers.

    The calling process is recorded as a client: the server stays while it lives.
    """
    private_dir(data_dir)
    with _locked(data_dir):  # two processes starting at once must not start two servers
        state = running_server(data_dir) or _start(data_dir, idle_minutes)
        private_dir(data_dir / CLIENTS_DIR)
        (data_dir / CLIENTS_DIR / str(os.getpid())).touch()
        return state.url


def running_server(data_dir: Path) -> ServerState | None:
    """The server recorded for this folder, if it is alive and answers."""
    try:
        state = ServerState(**json.loads((data_dir / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if state.path != str(_store_path(data_dir)) or not _alive(state.pid):
        return None
    return state if _answers(state.url) else None


def stop_server(data_dir: Path) -> bool:
    """Stop this folder's server; return whether one was running."""
    if not data_dir.exists():
        return False
    with _locked(data_dir):
        state = running_server(data_dir)
        (data_dir / STATE_FILE).unlink(missing_ok=True)
        if state is None:
            return False
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20  # the watcher gives the server 10 s
        while _alive(state.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(state.pid):
            os.kill(state.pid, signal.SIGKILL)
        return True


def _start(data_dir: Path, idle_minutes: float) -> ServerState:
    port = _free_port()
    log_path = data_dir / LOG_FILE
    arguments = [str(data_dir.resolve()), str(port), str(idle_minutes)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # not in the starter's process group: Airflow ends that one
        )
    state = ServerState(pid=process.pid, port=port, path=str(_store_path(data_dir)))
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _answers(state.url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise ChromaServerError(
                f"the project's Chroma server for {state.path} did not start; see {log_path}"
            )
        time.sleep(0.2)
    temporary = data_dir / f"{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(asdict(state)))
    temporary.replace(data_dir / STATE_FILE)
    return state


class _Stopped(Exception):
    """SIGTERM reached the watcher."""


def watch(data_dir: Path, port: int, idle_minutes: float) -> None:
    """Run Chroma's server for ``data_dir`` until it is stopped, idle or its folder is gone."""

    def stopped(signum: int, frame: object) -> None:
        raise _Stopped

    signal.signal(signal.SIGTERM, stopped)
    path = str(_store_path(data_dir))
    server = subprocess.Popen(
        [_chroma_command(), "run", "--path", path, "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        env={**SERVER_ENV, **os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    idle_s = idle_minutes * 60
    interval_s = min(5.0, max(0.2, idle_s / 4))
    last_client = time.monotonic()
    try:
        while not _answers(f"http://127.0.0.1:{port}") and server.poll() is None:
            time.sleep(0.2)  # Chroma creates its folder as it starts
        while server.poll() is None:
            time.sleep(interval_s)
            if not _store_path(data_dir).exists():
                break  # deleted: nothing left to serve
            if _clients_alive(data_dir):
                last_client = time.monotonic()
            elif time.monotonic() - last_client > idle_s and _retire(data_dir, server):
                break
    except _Stopped:
        pass
    finally:
        _stop(server)


def _stop(server: "subprocess.Popen[bytes]") -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def _clients_alive(data_dir: Path) -> bool:
    """Whether a process that asked for the server still runs; the others' records are removed."""
    alive = False
    with suppress(OSError):
        for record in (data_dir / CLIENTS_DIR).iterdir():
            if record.name.isdigit() and _alive(int(record.name)):
                alive = True
            else:
                record.unlink(missing_ok=True)
    return alive


def _retire(data_dir: Path, server: "subprocess.Popen[bytes]") -> bool:
    """Stop ``server`` if still idle. Under the lock: no process gets its address while it stops,
    and none starts another on the same files until it has."""
    try:
        with _locked(data_dir):
            if _clients_alive(data_dir):
                return False
            (data_dir / STATE_FILE).unlink(missing_ok=True)
            _stop(server)
            return True
    except OSError:  # the folder went away meanwhile
        return True


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with (data_dir / LOCK_FILE).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _store_path(data_dir: Path) -> Path:
    return (data_dir / "chroma").resolve()


def _chroma_command() -> str:
    """Chroma's own command, from the environment this process runs in."""
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else which("chroma")
    if found is None:
        raise ChromaServerError("the `chroma` command is missing: reinstall the chromadb package")
    return found


def _alive(pid: int) -> bool:
    with suppress(ChildProcessError):  # not our child: the signal below tells whether it runs
        os.waitpid(pid, os.WNOHANG)  # reap it if it is a child of this process that has exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: not ours to use
        return False
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run and watch the project's Chroma server.")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("idle_minutes", type=float)
    arguments = parser.parse_args()
    watch(arguments.data_dir, arguments.port, arguments.idle_minutes)
