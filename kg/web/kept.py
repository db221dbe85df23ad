"""The kept releases other than the current one, each opened on its first request and closed when idle.

A build keeps the last ``KG_KEEP_RELEASES`` snapshots (:mod:`kg.build.writer` prunes the others); every one
of them is a release that can be cited, so each is served at ``/release/<id>/…`` with the same endpoint
(:class:`kg.query.protocol.Endpoint`: guard, budgets, formats) as the current one. An old release costs its
query workers and store handle only while it is asked: it is opened on demand and retired after
``KG_RELEASE_IDLE_S`` without a request (its running requests finish first, as with a switch).
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from kg.config import Settings
from kg.snapshot import MANIFEST_FILE, OutdatedSnapshot, Snapshot
from kg.web.release import Release, Releases

#: What a build id looks like (kg.build.writer names snapshots by time): anything else is no release, and
#: never becomes a path.
RELEASE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,99}")


class UnknownRelease(LookupError):
    """No kept release has this id (never built, or pruned)."""


def kept_ids(settings: Settings) -> list[str]:
    """The ids of the releases in the build folder, oldest first (build ids sort by time)."""
    build_dir = settings.build_dir
    if not build_dir.is_dir():
        return []
    return sorted(p.name for p in build_dir.iterdir()
                  if not p.is_symlink() and RELEASE_ID.fullmatch(p.name) and (p / MANIFEST_FILE).is_file())


def previous_id(settings: Settings, release_id: str) -> str | None:
    """The kept release built just before ``release_id`` (None if it is the oldest kept)."""
    older = [i for i in kept_ids(settings) if i < release_id]
    return older[-1] if older else None


class KeptReleases:
    """The old releases this HTTP process has open; :meth:`enter` opens one, :meth:`sweep` closes idle ones."""

    def __init__(self, settings: Settings, releases: Releases) -> None:
        self.settings, self.releases = settings, releases
        self._open: dict[str, tuple[Release, float]] = {}
        self._lock = threading.Lock()

    def enter(self, release_id: str) -> Release:
        """The release ``release_id`` for one request (leave it when done); UnknownRelease if none is kept."""
        self.sweep()
        current = self.releases.enter()
        if current.id == release_id:
            return current
        current.leave()
        if release_id not in kept_ids(self.settings):  # a folder of the build, never `current` nor a path
            raise UnknownRelease(release_id)
        with self._lock:
            found = self._open.get(release_id)
            if found is None:
                release = Release(self.settings, self._snapshot(release_id), self.releases.metrics, self.releases.ledger)
            else:
                release = found[0]
            self._open[release_id] = (release, time.monotonic())
            return release.enter()

    def _snapshot(self, release_id: str) -> Snapshot:
        path: Path = self.settings.build_dir / release_id
        try:
            return Snapshot.open(path)
        except (FileNotFoundError, NotADirectoryError, OutdatedSnapshot):
            raise UnknownRelease(release_id) from None

    def sweep(self) -> None:
        """Retire the releases nobody has asked for ``KG_RELEASE_IDLE_S`` (they close once their requests end)."""
        limit = time.monotonic() - self.settings.release_idle_s
        with self._lock:
            idle = [key for key, (_, used) in self._open.items() if used <= limit]
            retired = [self._open.pop(key)[0] for key in idle]
        for release in retired:
            release.retire()

    @property
    def open_ids(self) -> list[str]:
        """The old releases open now (their workers running)."""
        with self._lock:
            return sorted(self._open)

    def close(self) -> None:
        with self._lock:
            retired = [release for release, _ in self._open.values()]
            self._open.clear()
        for release in retired:
            release.retire()
