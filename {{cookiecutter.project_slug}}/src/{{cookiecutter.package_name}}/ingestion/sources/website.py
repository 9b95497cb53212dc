"""A website: pages from its sitemap or a same-site crawl, fetched politely into a local mirror.

robots.txt is honoured (including its Crawl-delay), requests are spaced by a delay, unchanged pages
are not downloaded again (ETag and Last-Modified), a page is known by its canonical URL, and only
the latest version of versioned docs is kept when a version pattern is given.
"""

import hashlib
import json
import logging
import re
import time
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from ..formats import parse_html
from .base import SkippedFile, SourceDocument, Unchanged, own_path, read_document

log = logging.getLogger(__name__)
FETCH_ATTEMPTS = 3
HTML_TYPES = ("text/html", "application/xhtml+xml")


class CrawlError(RuntimeError):
    """The site could not be read at all (robots.txt or the sitemap failed): nothing is deleted."""


@dataclass
class MirroredPage:
    url: str  # where it was fetched
    file: str  # in the mirror folder
    etag: str | None = None
    last_modified: str | None = None


class WebsiteSource:
    def __init__(
        self,
        name: str,
        url: str,
        *,
        mirror_dir: Path,
        sitemap: str | None = None,
        max_pages: int = 500,
        delay_s: float = 1.0,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        version_pattern: str | None = None,
        user_agent: str = "ask-docs-ingest",
        access: str = "public",
        max_bytes: int = 5_000_000,
        timeout_s: float = 30.0,
        retry_wait_s: float = 1.0,
    ) -> None:
        self.name = name
        self.start_url = url
        self.mirror = Path(mirror_dir)
        self.sitemap = sitemap
        self.max_pages = max_pages
        self.delay_s = delay_s
        self.include = list(include or ["*"])
        self.exclude = list(exclude or [])
        self.version_pattern = re.compile(version_pattern) if version_pattern else None
        self.user_agent = user_agent
        self.access = access
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.retry_wait_s = retry_wait_s
        self._last_request = 0.0
        self._manifest: dict[str, MirroredPage] | None = None
        # url: (ETag, Last-Modified), to ask the server whether a page changed
        self._validators: dict[str, tuple[str | None, str | None]] = {}

    # The mirror: one HTML file per page and a manifest keyed by canonical URL.
    @property
    def _manifest_path(self) -> Path:
        return self.mirror / "manifest.json"

    def _read_manifest(self) -> dict[str, MirroredPage]:
        """Read once per instance: a batch task loads hundreds of pages from one manifest."""
        if self._manifest is None:
            entries = (
                json.loads(self._manifest_path.read_text()) if self._manifest_path.exists() else {}
            )
            self._manifest = {url: MirroredPage(**entry) for url, entry in entries.items()}
        return self._manifest

    def _write_manifest(self, pages: dict[str, MirroredPage]) -> None:
        partial = self._manifest_path.with_suffix(".partial")
        partial.write_text(json.dumps({url: asdict(page) for url, page in pages.items()}, indent=1))
        partial.replace(self._manifest_path)  # atomic: a killed crawl leaves the old manifest
        self._manifest = pages

    def sync(self) -> None:
        self.mirror.mkdir(parents=True, exist_ok=True)
        previous = {page.url: page for page in self._read_manifest().values()}
        with httpx.Client(
            headers={"User-Agent": self.user_agent},
            timeout=self.timeout_s,
            follow_redirects=True,
        ) as client:
            robots = self._robots(client)
            pages: dict[str, MirroredPage] = {}
            for url, html in self._pages(client, robots, previous):
                page = parse_html(html)
                canonical = self._canonical(url, page.canonical)
                if canonical not in pages:
                    pages[canonical] = self._store(url, html)
        pages = self._latest_versions(pages)
        if not pages and previous:  # a moved start page must not empty the index
            raise CrawlError(
                f"{self.name}: no pages found at {self.start_url}; kept the last mirror"
            )
        self._write_manifest(pages)
        kept = {page.file for page in pages.values()} | {"manifest.json"}
        for stale in self.mirror.iterdir():
            if stale.name not in kept:
                stale.unlink()
        log.info("%s: %d pages mirrored", self.name, len(pages))

    def scan(
        self, known: Mapping[str, str] | None = None
    ) -> Iterator[SourceDocument | SkippedFile | Unchanged]:
        if not self._manifest_path.exists():
            raise FileNotFoundError(f"source {self.name!r} has no mirror yet: sync it first")
        for canonical in self._read_manifest():
            document_id = f"{self.name}:{canonical}"
            yield self._read(canonical, (known or {}).get(document_id))

    def load(self, document_id: str) -> SourceDocument | SkippedFile:
        document = self._read(own_path(self.name, document_id))
        assert not isinstance(document, Unchanged)  # no known hash was given
        return document

    def _read(
        self, canonical: str, known_hash: str | None = None
    ) -> SourceDocument | SkippedFile | Unchanged:
        page = self._read_manifest().get(canonical)
        if page is None:
            return SkippedFile(canonical, "no longer on the site")
        return read_document(
            (self.mirror / page.file).read_bytes(),
            "html",
            source=self.name,
            path=canonical,
            uri=canonical,
            access=self.access,
            max_bytes=self.max_bytes,
            known_hash=known_hash,
        )

    # Crawling
    def _pages(
        self,
        client: httpx.Client,
        robots: RobotFileParser,
        previous: dict[str, MirroredPage],
    ) -> Iterator[tuple[str, str]]:
        """(URL, HTML) of each allowed page, up to ``max_pages``: sitemap order, else breadth-first."""
        queue = deque(self._sitemap_urls(client) if self.sitemap else [self.start_url])
        seen = set(queue)
        fetched = 0
        while queue and fetched < self.max_pages:
            url = queue.popleft()
            if not robots.can_fetch(self.user_agent, url):
                log.info("robots.txt disallows %s", url)
                continue
            html = self._fetch_page(client, url, previous.get(url))
            if html is None:
                continue
            fetched += 1
            yield url, html
            if not self.sitemap:
                for link in parse_html(html).links:
                    target = urldefrag(urljoin(url, link)).url
                    if target not in seen and self._in_scope(target):
                        seen.add(target)
                        queue.append(target)

    def _in_scope(self, url: str) -> bool:
        """Same site, below the start URL's folder, and let in by the include/exclude globs."""
        start = urlsplit(self.start_url)
        target = urlsplit(url)
        folder = start.path.rsplit("/", 1)[0] + "/"
        if (target.scheme, target.netloc) != (start.scheme, start.netloc):
            return False
        if not target.path.startswith(folder):
            return False
        included = any(fnmatch(url, pattern) for pattern in self.include)
        return included and not any(fnmatch(url, pattern) for pattern in self.exclude)

    def _fetch_page(self, client: httpx.Client, url: str, known: MirroredPage | None) -> str | None:
        """The page's HTML; the mirrored copy when the server says it has not changed.

        A page that fails after retries keeps its mirrored copy: a flaky server deletes nothing.
        """
        headers = {}
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        try:
            response = self._get(client, url, headers)
        except httpx.HTTPError as error:
            log.warning("could not fetch %s: %s", url, error)
            return self._mirrored(known)
        if response.status_code == 304:
            return self._mirrored(known)
        if response.status_code in (404, 410):
            return None  # gone: it leaves the mirror, and the index
        if response.status_code >= 400:
            log.warning("could not fetch %s: HTTP %d", url, response.status_code)
            return self._mirrored(known)
        content_type = response.headers.get("content-type", "text/html").split(";")[0].strip()
        if content_type not in HTML_TYPES:
            return None
        self._validators[url] = (
            response.headers.get("etag"),
            response.headers.get("last-modified"),
        )
        return response.text

    def _mirrored(self, known: MirroredPage | None) -> str | None:
        if known is None or not (self.mirror / known.file).exists():
            return None
        self._validators[known.url] = (known.etag, known.last_modified)
        return (self.mirror / known.file).read_text(encoding="utf-8", errors="replace")

    def _store(self, url: str, html: str) -> MirroredPage:
        file = hashlib.sha256(url.encode()).hexdigest()[:32] + ".html"
        partial = self.mirror / (file + ".partial")
        partial.write_text(html, encoding="utf-8")
        partial.replace(self.mirror / file)
        etag, last_modified = self._validators.get(url, (None, None))
        return MirroredPage(url, file, etag, last_modified)

    def _get(self, client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
        """One polite request: spaced by the delay, retried with backoff on 5xx and network errors."""
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            wait = self._last_request + self.delay_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()
            try:
                response = client.get(url, headers=headers)
            except httpx.TransportError:
                if attempt == FETCH_ATTEMPTS:
                    raise
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                if attempt == FETCH_ATTEMPTS:
                    return response
            time.sleep(self.retry_wait_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _robots(self, client: httpx.Client) -> RobotFileParser:
        """robots.txt as RFC 9309 reads it: missing means all allowed, a server error means stop."""
        start = urlsplit(self.start_url)
        url = f"{start.scheme}://{start.netloc}/robots.txt"
        robots = RobotFileParser(url)
        try:
            response = self._get(client, url, {})
        except httpx.HTTPError as error:
            raise CrawlError(f"{self.name}: cannot read {url}: {error}") from error
        if response.status_code >= 500:
            raise CrawlError(f"{self.name}: {url} answered HTTP {response.status_code}")
        robots.parse(response.text.splitlines() if response.status_code == 200 else [])
        delay = robots.crawl_delay(self.user_agent)
        if delay:
            self.delay_s = max(self.delay_s, float(delay))
        return robots

    def _sitemap_urls(self, client: httpx.Client) -> list[str]:
        """Page URLs in scope from the sitemap, following sitemap indexes."""
        urls: list[str] = []
        pending = [urljoin(self.start_url, self.sitemap or "/sitemap.xml")]
        while pending:
            sitemap = pending.pop(0)
            response = self._get(client, sitemap, {})
            if response.status_code != 200:
                raise CrawlError(f"{self.name}: sitemap {sitemap} answered {response.status_code}")
            try:
                root = ElementTree.fromstring(response.content)
            except ElementTree.ParseError as error:
                raise CrawlError(f"{self.name}: sitemap {sitemap} is not XML: {error}") from error
            for loc in root.iter():
                if loc.tag.endswith("loc") and loc.text:
                    url = loc.text.strip()
                    if root.tag.endswith("sitemapindex"):
                        pending.append(url)
                    elif self._in_scope(url):
                        urls.append(url)
        return list(dict.fromkeys(urls))

    def _canonical(self, url: str, declared: str | None) -> str:
        """The page's canonical URL when it names one on the same site, else the URL fetched."""
        if declared:
            canonical = urldefrag(urljoin(url, declared)).url
            if urlsplit(canonical).netloc == urlsplit(url).netloc:
                return canonical
        return urldefrag(url).url

    def _latest_versions(self, pages: dict[str, MirroredPage]) -> dict[str, MirroredPage]:
        """Of pages that differ only by the version in their URL, keep the newest version's."""
        if self.version_pattern is None:
            return pages
        newest: dict[str, tuple[tuple[tuple[int, int, str], ...], str]] = {}
        for canonical in pages:
            match = self.version_pattern.search(canonical)
            if match is None:
                continue
            start, end = match.span("version")
            key = canonical[:start] + "{version}" + canonical[end:]
            order = version_key(match.group("version"))
            if key not in newest or order > newest[key][0]:
                newest[key] = (order, canonical)
        keep = {canonical for _, canonical in newest.values()}
        return {
            canonical: page
            for canonical, page in pages.items()
            if canonical in keep or self.version_pattern.search(canonical) is None
        }


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """ "2.10" after "2.9"; names such as "latest" sort after every number."""
    parts = re.findall(r"\d+|[a-z]+", version.lower())
    return tuple((1, int(p), "") if p.isdigit() else (2, 0, p) for p in parts)
