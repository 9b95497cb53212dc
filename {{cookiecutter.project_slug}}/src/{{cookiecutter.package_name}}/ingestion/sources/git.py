"""A git repository (URL or local path): cloned once, then fetched; files read from the checkout."""

import base64
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .base import SkippedFile, SourceDocument, Unchanged
from .folder import LocalFolderSource

log = logging.getLogger(__name__)
GIT_ATTEMPTS = 3
GIT_TIMEOUT_S = 600


class GitError(RuntimeError):
    """git failed after its retries; the message never holds a token."""


class GitSource:
    """Files of one branch (default: the remote's default branch), below ``paths`` of the repository.

    ``uri_pattern`` maps a repository path to the page users should see, with the placeholders
    ``{path}`` (``docs/guide/install.md``), ``{stem}`` (``docs/guide/install``) and ``{branch}``.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        checkout_dir: Path,
        branch: str | None = None,
        paths: Sequence[str] = ("",),
        uri_pattern: str | None = None,
        token: str | None = None,
        access: str = "public",
        max_bytes: int = 5_000_000,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        retry_wait_s: float = 2.0,
    ) -> None:
        self.name = name
        self.url = url
        self.retry_wait_s = retry_wait_s
        self.branch = branch
        self.checkout = Path(checkout_dir)
        self.uri_pattern = uri_pattern or default_uri_pattern(url)
        self._token = token
        self.files = LocalFolderSource(
            self.checkout,
            name=name,
            access=access,
            max_bytes=max_bytes,
            include=include,
            exclude=exclude,
            paths=paths,
            uri_for=self.uri_of,
        )

    def uri_of(self, path: str) -> str:
        stem = path.rsplit(".", 1)[0] if "." in Path(path).name else path
        return self.uri_pattern.format(path=path, stem=stem, branch=self.branch or "HEAD")

    def sync(self) -> None:
        """Clone on first use, fetch and reset afterwards; a half-made clone is never used."""
        if (self.checkout / ".git").is_dir() and self._origin() == self.url:
            self._git("fetch", "--depth", "1", "origin", self.branch or "HEAD", cwd=self.checkout)
            self._git("reset", "--hard", "--quiet", "FETCH_HEAD", cwd=self.checkout)
            self._git("clean", "-fdxq", cwd=self.checkout)
            return
        partial = self.checkout.with_name(self.checkout.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        branch = ["--branch", self.branch] if self.branch else []
        self._git("clone", "--quiet", "--depth", "1", *branch, self.url, str(partial))
        shutil.rmtree(self.checkout, ignore_errors=True)
        partial.rename(self.checkout)

    def scan(
        self, known: Mapping[str, str] | None = None
    ) -> Iterator[SourceDocument | SkippedFile | Unchanged]:
        if not (self.checkout / ".git").is_dir():
            raise FileNotFoundError(f"source {self.name!r} has no checkout yet: sync it first")
        return self.files.scan(known)

    def load(self, document_id: str) -> SourceDocument | SkippedFile:
        return self.files.load(document_id)

    def _origin(self) -> str:
        return self._git("remote", "get-url", "origin", cwd=self.checkout).strip()

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1"}
        if self._token:  # in the environment, not the command line, where ps would show it
            basic = base64.b64encode(f"x-access-token:{self._token}".encode()).decode()
            env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        for attempt in range(1, GIT_ATTEMPTS + 1):
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_S,
            )
            if result.returncode == 0:
                return result.stdout
            error = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
            if attempt < GIT_ATTEMPTS:
                log.warning("git %s failed (%s); retrying", args[0], error[0])
                time.sleep(self.retry_wait_s * 2 ** (attempt - 1))
        raise GitError(f"git {args[0]} of {without_credentials(self.url)} failed: {error[0]}")


def default_uri_pattern(url: str) -> str:
    """GitHub and GitLab URLs link to the file's page; anything else keeps the repository path."""
    host = urlsplit(url).netloc
    if host in {"github.com", "gitlab.com"}:
        separator = "/-/blob" if host == "gitlab.com" else "/blob"
        return url.removesuffix(".git").rstrip("/") + separator + "/{branch}/{path}"
    return "{path}"


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
