"""`kg serve`'s processes under granian: a stop signal is never lost, and no process outlives the server.

What granian 2.8 does (read in granian/server/common.py and mp.py, and its Rust ``workers.rs``): on SIGTERM or
SIGINT the main process sends SIGTERM to each HTTP process. Each one stops accepting (on Linux every HTTP
process listens on a socket of its own, bound with SO_REUSEPORT, and closes it), so once all have stopped a
new connection is refused; the requests it has running go on to their end (hyper's graceful shutdown of each
connection), then it exits. The main process waits for them up to ``workers_kill_timeout``
(:attr:`kg.config.Settings.shutdown_grace_s`), SIGKILLs any still running, and exits with status 0. An HTTP
process that dies is started again at once (``respawn_failed_workers``); one that dies again within 5.5 s of
being started stops the whole server (granian's crash-loop guard, status 1). Its warning "Killing worker-N
after it refused to gracefully stop" is also written, now and then, for a process that was already exiting
(its files closed, not yet reaped a millisecond later): only the time a stop takes tells a lost signal.

Three gaps, closed here:

* A signal that reaches an HTTP process before granian has put its own handlers in place there (while
  :func:`create_app` still runs: opening the store, starting query workers) is swallowed by the copy of the
  main process's handler that the fork left it, and that process serves on until it is killed at the end of
  the grace period. :func:`create_app` catches such a signal and hands it on once granian listens for it.
* Python runs a signal's handler in the main thread, and only wakes that thread when the kernel gave the
  signal to it. granian's processes wait in ``threading.Event.wait()`` with no timeout there, so a SIGTERM that
  the kernel gives to another thread (seen in about one stop in twenty of an HTTP process busy with a
  request: the C handler ran, the Python one never did) goes unhandled until the grace period ends.
  :func:`wake_main_thread_on_signals` has every signal wake the main thread.
* granian ends an HTTP process with ``os._exit``, so its atexit handlers never run and its query workers
  outlive it, for up to a second (until they see that their parent is gone), left for init to reap. Here each
  HTTP process stops its query workers as it exits, and the main process ends what is left of its tree
  (query workers of an HTTP process that had to be killed) before it exits itself.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import signal
import threading
import time
from typing import Any

import psutil
from flask import Flask
from granian.server import Server as _GranianServer

from kg.web import create_app as _create_app  # imported before the fork: each HTTP process starts sooner

log = logging.getLogger("kg.serve")

#: The server being run, in the main process and (as the fork copied it) in each HTTP process.
SERVER: "Server | None" = None


class Server(_GranianServer):
    """granian's server, whose stop signals always reach its main thread, ending every process of its tree
    before it exits."""

    def startup(self, spawn_target: Any, target_loader: Any) -> None:
        wake_main_thread_on_signals()
        super().startup(spawn_target, target_loader)

    def shutdown(self, exit_code: int = 0) -> None:
        # Watched all along the shutdown: an HTTP process may start a query worker while it drains.
        seen: dict[int, psutil.Process] = {}
        done = threading.Event()

        def watch() -> None:
            while True:
                for process in _descendants():
                    seen.setdefault(process.pid, process)
                if done.wait(0.05):
                    return

        watcher = threading.Thread(target=watch, name="kg-shutdown-watch", daemon=True)
        watcher.start()
        try:
            super().shutdown(exit_code)
        finally:
            done.set()
            watcher.join()
            _end([p for p in seen.values() if _running(p)])


def _end(left: list[psutil.Process]) -> None:
    """Kill what killed HTTP processes left behind (their query workers), and wait until it has exited."""
    if not left:
        return
    log.warning("ending %d process(es) left by HTTP processes that were killed: %s", len(left),
                " ".join(str(p.pid) for p in left))
    for process in left:
        try:
            process.kill()  # psutil checks that the pid still names the same process
        except psutil.Error:
            pass
    # Orphans are init's to reap: wait until they have exited, not until they are reaped.
    deadline = time.monotonic() + 5
    while any(_running(p) for p in left) and time.monotonic() < deadline:
        time.sleep(0.02)


def create_app() -> Flask:
    """The application of one HTTP process of `kg serve` (granian's factory, called in that process)."""
    wake_main_thread_on_signals()
    held = _HeldSignals()
    app = _create_app()
    releases = app.extensions["kg.releases"]
    # Run by multiprocessing as the process ends (atexit handlers are not): the query workers end first.
    multiprocessing.util.Finalize(None, releases.close, exitpriority=10)
    held.hand_over()
    return app


class _HeldSignals:
    """Stop signals that arrive while the HTTP process starts, delivered once granian listens for them.

    Only SIGTERM is handed on: a SIGINT (Ctrl-C reaches the whole process group) is always followed by the
    main process's SIGTERM, and granian's handler must not be called twice before its listener thread runs
    (the second call would block on its one-slot channel, holding the GIL)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.term = threading.Event()
        for sig in self.SIGNALS:
            signal.signal(sig, self._caught)
        # One that came between the fork and here set the copy of the main process's flag.
        if getattr(SERVER, "interrupt_signal", False):
            self.term.set()

    def _caught(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGTERM:
            self.term.set()

    def hand_over(self) -> None:
        threading.Thread(target=self._deliver, name="kg-held-signals", daemon=True).start()

    def _deliver(self) -> None:
        deadline = time.monotonic() + 120
        while signal.getsignal(signal.SIGTERM) == self._caught:  # granian sets its handlers after the factory
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        if self.term.is_set():
            log.info("stopping: the stop signal came while this HTTP process was starting")
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)


#: The signal that wakes the main thread: ignored by default, and nothing here uses it for its own purpose.
WAKE = signal.SIGURG
_wakeup: tuple[int, int] | None = None  # this process's pipe (a forked child gets a copy it does not use)


def wake_main_thread_on_signals() -> None:
    """Have every signal that has a Python handler wake the main thread, whichever thread the kernel gave it
    to, so that its handler runs. Call in the main thread; again in a forked child, which gets a pipe of its own.

    The C-level handler writes each signal's number to the wakeup pipe (:func:`signal.set_wakeup_fd`); a
    thread reads it and sends :data:`WAKE` to the main thread, whose wait is then interrupted and which runs
    the handlers of every signal that came (a signal already handled costs one more wake-up, nothing else)."""
    global _wakeup
    if _wakeup is not None:
        for fd in _wakeup:
            os.close(fd)
    read, write = _wakeup = os.pipe()
    os.set_blocking(write, False)
    signal.signal(WAKE, _wake)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_forward, args=(read,), name="kg-signal-wake", daemon=True).start()


def _wake(_signum: int, _frame: Any) -> None:
    """Nothing to do: being interrupted is the point."""


def _forward(read: int) -> None:
    main = threading.main_thread().ident
    while True:
        try:
            numbers = os.read(read, 256)
        except OSError:
            return
        if not numbers:
            return
        if any(number != WAKE for number in numbers):
            signal.pthread_kill(main, WAKE)


def _descendants() -> list[psutil.Process]:
    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
