"""Exactly one beat: the schedule runs in the process holding the beat lease. A second
beat waits for it (standby), and takes over when the holder stops or its lease lapses.

With Redis as the broker the lease is a Redis lock with a time limit, renewed while the
beat runs; with the server-free folder queue (one machine) it is a file lock in the data
directory, which the operating system frees when its process dies."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from bot.settings import Settings

log = logging.getLogger(__name__)

LEASE_KEY = "learnloop:beat-lease"


class BeatLease:
    def __init__(self, settings: Settings, seconds: float | None = None) -> None:
        self.seconds = seconds or settings.lease_seconds
        self.held = False
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        self._lock: Any
        if settings.broker_url.startswith(("redis://", "rediss://")):
            import redis

            client = redis.Redis.from_url(settings.broker_url, socket_timeout=3)
            self._lock = client.lock(LEASE_KEY, timeout=self.seconds, thread_local=False)
            self._redis = True
        else:
            from filelock import FileLock

            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(settings.data_dir / "beat.lock")
            self._redis = False

    def _try(self) -> bool:
        if self._redis:
            return bool(self._lock.acquire(blocking=False))
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def wait(self, poll: float = 1.0) -> None:
        """Block until this process holds the lease."""
        told = False
        while not self._try():
            if not told:
                log.info("another beat holds the schedule: waiting as standby")
                told = True
            time.sleep(poll)
        self.held = True
        log.info("beat lease taken: this beat runs the schedule")
        if self._redis:
            self._keeper = threading.Thread(target=self._renew, name="beat-lease", daemon=True)
            self._keeper.start()

    def _renew(self) -> None:
        from redis.exceptions import LockError, RedisError

        while not self._stop.wait(self.seconds / 3):
            try:
                self._lock.reacquire()
            except LockError:
                # another beat took over after our lease lapsed: two schedules must not
                # run, so this one stops (the orchestrator starts it again as a standby)
                log.error("beat lease lost to another beat: stopping")
                self.held = False
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except RedisError:  # a blip: the lease has two more renewals of slack
                log.warning("beat lease renewal failed", exc_info=True)

    def release(self) -> None:
        self._stop.set()
        if self.held:
            self.held = False
            try:
                self._lock.release()
            except Exception:  # lapsed or the broker is gone: it expires on its own
                log.warning("beat lease not released", exc_info=True)

    def check(self) -> None:
        """For /readyz: a standby beat is alive but not ready."""
        if not self.held:
            raise RuntimeError("standby: another beat holds the schedule")
