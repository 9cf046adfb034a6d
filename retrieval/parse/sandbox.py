"""Parsing in child processes with memory, CPU-time and output limits.

Children are forked from a fresh forkserver (never from a process that holds torch or
the index) and kept in a small pool, so a batch pays process start-up once. Each child
caps its own address space and CPU time with `resource.setrlimit`; a child that goes
over is killed by the kernel and only its file is skipped. The pool is pebble's: it
replaces a dead child without failing the other files in flight.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import signal
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pebble import ProcessExpired, ProcessFuture, ProcessPool

from retrieval.errors import (
    CorruptFile,
    EmptyDocument,
    FileTooLarge,
    OverLimit,
    RetrievalError,
    UnsupportedFileType,
)
from retrieval.parse import parse
from retrieval.parse.limits import MiB, ParseLimits
from retrieval.types import ParsedDocument

log = logging.getLogger(__name__)

# imported once in the forkserver, so every child starts with them loaded
_PRELOAD = ["retrieval.parse", "docx", "pptx", "pypdf", "charset_normalizer", "pypdfium2"]
_STARTUP_GRACE = 60.0  # seconds for a child to start and import the parsers
_KINDS: tuple[type[RetrievalError], ...] = (
    UnsupportedFileType,
    CorruptFile,
    EmptyDocument,
    OverLimit,
    FileTooLarge,
)
_ERRORS = {kind.code: kind for kind in _KINDS}


@dataclass(frozen=True)
class ChildResult:
    """What a parsing child sends back: the document or a coded error, and its peak RSS."""

    doc: ParsedDocument | None
    code: str = ""
    message: str = ""
    peak_rss: int = 0  # bytes, the child's high-water mark so far


def _limit_child(limits: ParseLimits) -> None:
    """Pool initializer: cap this child's address space; no core dumps of killed ones."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _parse_in_child(name: str, data: bytes, limits: ParseLimits) -> ChildResult:
    # RLIMIT_CPU counts the process's whole life: allow this file its seconds from now
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu, _ = limits.seconds_for(name)
    resource.setrlimit(resource.RLIMIT_CPU, (spent + int(cpu), hard))
    try:
        doc: ParsedDocument | None = parse(name, data, limits)
        code = message = ""
    except RetrievalError as exc:
        doc, code, message = None, exc.code, exc.message
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return ChildResult(doc, code, message, peak)


def _stop(pool: ProcessPool) -> None:
    pool.stop()
    pool.join()


class SandboxParser:
    """Parses files in a pool of limited child processes; thread-safe, started on first use."""

    def __init__(
        self, limits: ParseLimits | None = None, workers: int = 2, tasks_per_child: int = 50
    ) -> None:
        self.limits = limits or ParseLimits()
        self.workers = max(1, workers)
        self.tasks_per_child = tasks_per_child  # a fresh child now and then: no slow leaks
        self.peak_rss = 0  # the highest child high-water mark seen, in bytes
        self._pool: ProcessPool | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.Lock()

    def parse(self, name: str, data: bytes) -> ParsedDocument:
        """Parse one file in a child; raise its coded error (`OverLimit` when killed)."""
        result = next(self.parse_many([(name, data)]))
        if isinstance(result, RetrievalError):
            raise result
        return result

    def parse_many(
        self, items: Iterable[tuple[str, bytes]]
    ) -> Iterator[ParsedDocument | RetrievalError]:
        """Each file's document or error, in order, with a few files parsed ahead."""
        window: deque[tuple[str, ProcessFuture]] = deque()
        source = iter(items)
        for name, data in source:
            window.append((name, self._submit(name, data)))
            if len(window) >= 2 * self.workers:
                yield self._collect(*window.popleft())
        while window:
            yield self._collect(*window.popleft())

    def close(self) -> None:
        """Stop the children (also done when this parser is garbage-collected or at exit)."""
        with self._lock:
            finalizer, self._finalizer, self._pool = self._finalizer, None, None
        if finalizer is not None:
            finalizer()

    def _submit(self, name: str, data: bytes) -> ProcessFuture:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPool(
                    max_workers=self.workers,
                    max_tasks=self.tasks_per_child,
                    initializer=_limit_child,
                    initargs=(self.limits,),
                    context=context,
                )
                self._finalizer = weakref.finalize(self, _stop, self._pool)
            pool = self._pool
        _, wall = self.limits.seconds_for(name)
        return pool.schedule(_parse_in_child, args=(name, data, self.limits), timeout=wall)

    def _collect(self, name: str, future: ProcessFuture) -> ParsedDocument | RetrievalError:
        cpu, wall = self.limits.seconds_for(name)
        try:
            # pebble times the task from its start; this bounds a child that never starts
            result: ChildResult = future.result(timeout=_STARTUP_GRACE + 2 * wall)
        except FutureTimeout:
            future.cancel()
            return OverLimit(f"{name}: parsing took longer than {wall:.0f} s", source=name)
        except ProcessExpired as exc:
            log.warning("parser child died exitcode=%s", exc.exitcode)
            return OverLimit(f"{name}: {self._death(exc.exitcode, cpu)}", source=name)
        except Exception as exc:  # the child could not even be started or reached
            return CorruptFile(f"{name}: the parser failed ({type(exc).__name__})", source=name)
        self.peak_rss = max(self.peak_rss, result.peak_rss)
        if result.doc is not None:
            return result.doc
        error = _ERRORS.get(result.code, CorruptFile)
        return error(result.message, source=name)

    def _death(self, exitcode: Any, cpu: float) -> str:
        memory = self.limits.memory_bytes / MiB
        if exitcode == -signal.SIGXCPU:
            return f"parsing it used more than {cpu:.0f} s of CPU time"
        return f"the parser stopped (exit {exitcode}); it may need more than {memory:.0f} MiB"
