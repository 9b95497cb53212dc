"""Releasing a rebuilt index version: once a run has written every document into it, it goes live,
and versions beyond ``keep_versions`` are dropped. A run that left something out (a source not read,
a document failed) leaves the new version unreleased: the live version keeps answering, and the next
run finishes the new one.

What the index holds besides the sources' documents is written into the new version first, by the
caller's ``before_release`` (the command line and the DAG pass the feedback's verified answers).
"""

from collections.abc import Callable
from dataclasses import replace

from ..config import Settings
from ..index.store import open_store
from ..index.versions import finish_build
from .planning import IngestSummary

KEPT = "the live version answers until a run completes this one"
BeforeRelease = Callable[[Settings], object]  # called with settings pinned to the new version


def release(
    settings: Settings, summary: IngestSummary, before_release: BeforeRelease | None = None
) -> IngestSummary:
    """Make the version the run built live when the run is complete; the summary says whether."""
    if not summary.rebuild:
        return summary
    if not summary.complete:
        return replace(summary, released=f"not live, it lacks what failed; {KEPT}")
    new = settings.pinned(summary.version)
    store = open_store(new)
    if store.count() == 0 and open_store(settings).count() > 0:
        return replace(summary, released=f"not live, it holds no documents; {KEPT}")
    if before_release:
        before_release(new)
    dropped = finish_build(store, summary.version, settings.keep_versions)
    return replace(summary, released="live" + "".join(f", dropped {name}" for name in dropped))
