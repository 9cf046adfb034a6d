"""The operations server of a long-running process, on its own port (LEARNLOOP_OPS_PORT):
`/healthz` (the process is alive), `/readyz` (every dependency it needs answers, as JSON)
and `/metrics` (Prometheus). It runs in a thread, so it answers while the process's own
loop is busy, and the same server serves the bots, the workers and beat."""

from __future__ import annotations

import json
import logging
import socketserver
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

Check = Callable[[], None]  # raises (with a plain message) when the dependency is not there
StartResponse = Callable[..., Any]


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds
        pass


def run_checks(checks: Mapping[str, Check], timeout: float = 3.0) -> dict[str, str]:
    """Each check's result, "ok" or what is wrong, all run at once within `timeout`."""
    if not checks:
        return {}
    with ThreadPoolExecutor(len(checks), thread_name_prefix="ready") as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        results: dict[str, str] = {}
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                results[name] = "ok"
            except FutureTimeout:
                results[name] = f"no answer within {timeout:g} s"
            except Exception as exc:
                results[name] = str(exc) or type(exc).__name__
        return results


class OpsServer:
    def __init__(
        self,
        checks: Mapping[str, Check],
        port: int,
        host: str = "0.0.0.0",  # noqa: S104 - probes and scrapers come from outside the pod
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.checks = dict(checks)
        self.port, self.host = port, host
        self._metrics = make_wsgi_app(registry)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def ready(self) -> tuple[bool, dict[str, str]]:
        results = run_checks(self.checks)
        return all(r == "ok" for r in results.values()), results

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ready, results = self.ready()
            if not ready:
                log.warning("not ready: %s", {k: v for k, v in results.items() if v != "ok"})
            body = json.dumps({"ready": ready, "checks": results}).encode()
            status = "200 OK" if ready else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        if path == "/metrics":
            body_parts: Iterable[bytes] = self._metrics(environ, start_response)
            return body_parts
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/healthz, /readyz or /metrics\n"]

    def start(self) -> int:
        """Serve in a daemon thread; returns the bound port (0 when it could not bind: the
        process still runs, without probes)."""
        try:
            self._server = make_server(
                self.host, self.port, self, server_class=_Server, handler_class=_QuietHandler
            )
        except OSError as exc:
            log.warning("operations port %d unavailable (%s): no /healthz here", self.port, exc)
            return 0
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ops-server", daemon=True
        )
        self._thread.start()
        bound = int(self._server.server_address[1])
        log.info("operations server on port %d (/healthz /readyz /metrics)", bound)
        return bound

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# -- the checks a process's dependencies need
def database_check(engine: Callable[[], Any]) -> Check:
    """The SQL store answers `SELECT 1` (`engine` builds or returns the SQLAlchemy engine)."""

    def check() -> None:
        from sqlalchemy import text

        try:
            with engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise RuntimeError(f"the database does not answer: {_first_line(exc)}") from exc

    return check


def broker_check(conf: Mapping[str, Any]) -> Check:
    """The job queue's broker accepts a connection (Celery's broker settings)."""

    def check() -> None:
        from kombu import Connection

        url = conf["broker_url"]
        options = dict(conf.get("broker_transport_options") or {})
        try:
            with Connection(url, connect_timeout=2, transport_options=options) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:
            raise RuntimeError(f"the broker does not answer: {_first_line(exc)}") from exc

    return check


def http_check(what: str, url: str) -> Check:
    """`url` answers 200 (a model server's /health, Chroma's heartbeat)."""

    def check() -> None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status != 200:
                    raise RuntimeError(f"{what} answers {response.status} at {url}")
        except OSError as exc:
            raise RuntimeError(f"{what} does not answer at {url}: {exc}") from exc

    return check


def _first_line(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).strip().splitlines()[0]
