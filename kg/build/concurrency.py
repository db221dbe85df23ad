"""Threads for the build: Oxigraph, zlib and hashlib release the GIL, so a build uses both cores."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar


class Background(threading.Thread):
    """Runs ``work`` in a thread; :meth:`result` waits and re-raises what it raised, in the caller's thread."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__(name=getattr(work, "__name__", "worker"), daemon=True)
        self.work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work()
        except BaseException as error:
            self.error = error

    def result(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error


T = TypeVar("T")


def concurrently(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """The results of independent tasks run on one thread per CPU, in order; the first error is re-raised.

    For the build steps whose work happens inside Oxigraph (serialising, querying), zlib or hashlib,
    which all release the GIL: at 10^6 triples the dumps and the VoID statistics otherwise leave a core
    idle once the store has loaded."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(lambda task: task(), tasks))


