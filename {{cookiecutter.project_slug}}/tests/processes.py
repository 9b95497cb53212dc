"""Servers the tests start as a user would (Airflow's components, `make airflow`): each in a process
group of its own, so that the processes it starts stop with it."""

import os
import signal
import subprocess
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path


def start_group(
    command: Sequence[str], log: Path, env: dict[str, str], cwd: Path | None = None
) -> "subprocess.Popen[bytes]":
    """Start ``command`` with its output in ``log``, as the leader of a new process group."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_groups(processes: Sequence["subprocess.Popen[bytes]"], grace_s: float) -> None:
    """Ask every group to stop, give each ``grace_s`` seconds, then kill what is left of it."""
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
        with suppress(ProcessLookupError):  # whatever of the group outlived its leader
            os.killpg(process.pid, signal.SIGKILL)
