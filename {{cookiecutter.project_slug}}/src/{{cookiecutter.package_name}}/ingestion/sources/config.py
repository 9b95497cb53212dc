"""Which sources a project reads: ``sources.toml`` (see ``sources.example.toml``), or else the one
folder named by ``RAG_SOURCE_DIR``. A run reads the enabled sources, or those its params name."""

import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...config import Access, Settings
from .base import Source
from .folder import LocalFolderSource
from .git import GitSource
from .website import WebsiteSource

SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]


class _SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not ignored

    name: SourceName
    access: Access = "public"
    enabled: bool = True
    include: list[str] = ["*"]
    exclude: list[str] = []


class FolderConfig(_SourceConfig):
    type: Literal["folder"]
    path: Path


class GitConfig(_SourceConfig):
    type: Literal["git"]
    url: str
    branch: str | None = None
    paths: list[str] = [""]
    uri_pattern: str | None = None
    token_env: str | None = Field(None, description="Environment variable holding an access token.")


class WebsiteConfig(_SourceConfig):
    type: Literal["website"]
    url: str
    sitemap: str | None = Field(None, description="Sitemap URL; unset: crawl links from url.")
    max_pages: int = Field(500, ge=1)
    delay_s: float = Field(1.0, ge=0)
    version_pattern: str | None = Field(
        None, description="Regex with a (?P<version>...) group: keep only the newest version."
    )


SourceConfig = Annotated[FolderConfig | GitConfig | WebsiteConfig, Field(discriminator="type")]


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[SourceConfig]


def source_configs(settings: Settings) -> list[SourceConfig]:
    if not settings.sources_file.exists():
        return [settings_folder(settings, settings.source_dir)]
    try:
        parsed = SourcesFile.model_validate(tomllib.loads(settings.sources_file.read_text()))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise ValueError(f"{settings.sources_file} is not a valid sources file: {error}") from error
    names = [config.name for config in parsed.sources]
    if len(names) != len(set(names)):
        raise ValueError(f"{settings.sources_file}: source names must differ, got {names}")
    return parsed.sources


def select_sources(
    settings: Settings, names: list[str] | None = None, folder: Path | str | None = None
) -> list[Source]:
    """The sources of one run: one folder (see ``folder_source``), those named, or all enabled."""
    if folder is not None:
        return [build_source(settings, folder_source(settings, Path(folder)))]
    configs = source_configs(settings)
    if names:
        known = {config.name: config for config in configs}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; configured: {sorted(known)}")
        configs = [known[name] for name in names]
    else:
        configs = [config for config in configs if config.enabled]
    return [build_source(settings, config) for config in configs]


def folder_source(settings: Settings, path: Path) -> SourceConfig:
    """The configured source that reads this folder, else an ad-hoc source of its own.

    An ad-hoc folder is named after the folder (``folder_source_name``), so ingesting it adds its
    documents, and a later run on it refreshes them, without deleting any other source's documents;
    ``remove_sources`` deletes them on purpose.
    """
    resolved = path.resolve()
    for config in source_configs(settings):
        if isinstance(config, FolderConfig) and config.path.resolve() == resolved:
            return config
    return settings_folder(settings, path, name=folder_source_name(path))


def folder_source_name(path: Path) -> str:
    """A stable source name for a folder: readable, and distinct for two folders of the same name."""
    resolved = path.resolve()
    slug = re.sub(r"[^a-z0-9]+", "-", resolved.name.lower()).strip("-")[:24] or "folder"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:6]
    return f"folder-{slug}-{digest}"


def settings_folder(settings: Settings, path: Path, name: str = "local") -> FolderConfig:
    """A folder read with the ``RAG_SOURCE_*`` settings; ``source_dir`` is source "local"."""
    return FolderConfig(
        type="folder",
        name=name,
        path=path,
        access=settings.source_access,
        include=settings.source_include,
        exclude=settings.source_exclude,
    )


def build_source(settings: Settings, config: SourceConfig) -> Source:
    cache = settings.source_cache_dir / config.name
    if isinstance(config, FolderConfig):
        return LocalFolderSource(
            config.path,
            name=config.name,
            access=config.access,
            max_bytes=settings.max_file_bytes,
            include=config.include,
            exclude=config.exclude,
        )
    if isinstance(config, GitConfig):
        token = os.environ.get(config.token_env) if config.token_env else None
        if config.token_env and not token:
            raise ValueError(
                f"source {config.name!r}: environment variable {config.token_env} is unset"
            )
        return GitSource(
            config.name,
            config.url,
            checkout_dir=cache,
            branch=config.branch,
            paths=config.paths,
            uri_pattern=config.uri_pattern,
            token=token,
            access=config.access,
            max_bytes=settings.max_file_bytes,
            include=config.include,
            exclude=config.exclude,
        )
    return WebsiteSource(
        config.name,
        config.url,
        mirror_dir=cache,
        sitemap=config.sitemap,
        max_pages=config.max_pages,
        delay_s=config.delay_s,
        version_pattern=config.version_pattern,
        user_agent=f"{settings.project_name} (RAG ingestion)",
        access=config.access,
        max_bytes=settings.max_file_bytes,
        include=config.include,
        exclude=config.exclude,
    )
