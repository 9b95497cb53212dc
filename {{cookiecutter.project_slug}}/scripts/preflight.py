"""Check the system programs a command needs before it starts, and say how to install what is missing.

    python3 scripts/preflight.py --for "make test" git chromium redis-server
    python3 scripts/preflight.py --markdown git chromium redis-server   # the README's list

Everything a Python package can provide is installed by ``make setup`` into .venv; what remains are
programs of the operating system. They are checked in a second, and all the missing ones are named in
one message with their install commands, instead of a test failing half an hour in.
Standard library only: it runs before any environment exists.
"""

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MINIMUM_PYTHON = (3, 11)


@dataclass(frozen=True)
class Requirement:
    title: str
    why: str
    debian: str  # the Debian/Ubuntu package
    macos: str  # the command that installs it on macOS
    found: Callable[[], bool]
    debian_then: str = ""  # a command to run after the package is installed


def on_path(*names: str) -> Callable[[], bool]:
    return lambda: any(shutil.which(name) for name in names)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_found() -> bool:
    """As the browser tests look for it: CHROMIUM_PATH, else a known name on PATH."""
    if path := os.environ.get("CHROMIUM_PATH"):
        return os.access(path, os.X_OK)
    return on_path(*CHROMIUM_NAMES)()


def uv_found() -> bool:
    """uv, or a pip that may install it (a Python marked externally managed refuses to)."""
    if shutil.which("uv"):
        return True
    pip = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    managed = Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").exists()
    return pip.returncode == 0 and not managed


REQUIREMENTS = {
    "make": Requirement(
        "make", "runs the commands of the README", "make", "xcode-select --install", on_path("make")
    ),
    "git": Requirement(
        "git",
        "the git source's tests clone and pull repositories",
        "git",
        "xcode-select --install",
        on_path("git"),
    ),
    "curl": Requirement(
        "curl",
        "the workshop's steps call the services with it",
        "curl",
        "brew install curl",
        on_path("curl"),
    ),
    "chromium": Requirement(
        "Chromium or Chrome (or CHROMIUM_PATH set to one)",
        "the browser tests drive it; nothing is downloaded",
        "chromium",
        "brew install --cask chromium",
        chromium_found,
    ),
    "redis-server": Requirement(
        "redis-server",
        "the broker of the Celery scale-out test",
        "redis-server",
        "brew install redis",
        on_path("redis-server"),
    ),
    "c++": Requirement(
        "a C++ compiler",
        "builds llama.cpp's server for the tests' language model once (not with LLM_BASE_URL set)",
        "g++",
        "xcode-select --install",
        on_path("c++", "g++", "clang++"),
    ),
    "uv": Requirement(
        "uv (or a pip that may install it)",
        "installs the Python dependencies",
        "pipx",
        "brew install uv",
        uv_found,
        debian_then="pipx install uv",
    ),
}


def install_commands(missing: list[Requirement]) -> list[str]:
    """One command per system for everything missing."""
    debian = [f"sudo apt-get install -y {' '.join(r.debian for r in missing)}"]
    debian += [r.debian_then for r in missing if r.debian_then]
    macos = list(dict.fromkeys(r.macos for r in missing))
    return [f"  Debian/Ubuntu: {' && '.join(debian)}", f"  macOS:         {' && '.join(macos)}"]


def markdown(names: list[str]) -> str:
    """The list as the README gives it, in the same words."""
    lines = []
    for requirement in (REQUIREMENTS[name] for name in names):
        debian = " && ".join(
            filter(None, [f"apt-get install {requirement.debian}", requirement.debian_then])
        )
        lines.append(
            f"- **{requirement.title}**: {requirement.why} "
            f"(Debian/Ubuntu: `{debian}`; macOS: `{requirement.macos}`)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=sorted(REQUIREMENTS), metavar="NAME")
    parser.add_argument("--for", dest="command", default="this command", help="what needs them")
    parser.add_argument("--markdown", action="store_true", help="print the README's list")
    arguments = parser.parse_args(argv)
    if arguments.markdown:
        print(markdown(arguments.names))
        return 0
    problems = []
    if sys.version_info < MINIMUM_PYTHON:
        wanted, this = ".".join(map(str, MINIMUM_PYTHON)), sys.version.split()[0]
        problems.append(f"Python {wanted} or newer (this is {this})")
    missing = [REQUIREMENTS[name] for name in arguments.names if not REQUIREMENTS[name].found()]
    if not problems and not missing:
        return 0
    lines = [f"{arguments.command} needs what this machine lacks:"]
    lines += [f"  - {problem}" for problem in problems]
    lines += [f"  - {r.title}: {r.why}" for r in missing]
    if missing:
        lines += ["Install with:", *install_commands(missing)]
    print("\n".join(lines), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
