"""Keeping every inference server's LoRA adapters in line with the registry's active one.

Runtime-loaded adapters vanish when a server restarts and one request reaches one replica,
so promotion is not a single load: a reconcile pass (run on promotion, rollback, and on a
timer) loads the active adapter where it is missing and unloads retired ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from training.errors import TrainingError
from training.registry import PREFIX, AdapterRecord

log = logging.getLogger(__name__)


class AdapterServerError(TrainingError):
    code = "adapter_server_failed"


class AdapterServer(Protocol):
    """One server's LoRA endpoints: vLLM's, which the embedded server also speaks."""

    url: str

    async def loaded(self) -> set[str]: ...

    async def load(self, name: str, path: str) -> None: ...

    async def unload(self, name: str) -> None: ...


@dataclass(frozen=True)
class Reconciled:
    url: str
    loaded: tuple[str, ...] = ()
    unloaded: tuple[str, ...] = ()
    error: str = ""


class HttpAdapterServer:
    """`/v1/models`, `/v1/load_lora_adapter`, `/v1/unload_lora_adapter` over HTTP."""

    def __init__(self, url: str, client: httpx.AsyncClient, api_key: str = "") -> None:
        self.url = url.rstrip("/").removesuffix("/v1")
        self._client = client
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def loaded(self) -> set[str]:
        body = await self._call("GET", "/v1/models")
        return {str(m["id"]) for m in body.json().get("data", []) if m.get("parent")}

    async def load(self, name: str, path: str) -> None:
        await self._call("POST", "/v1/load_lora_adapter", {"lora_name": name, "lora_path": path})

    async def unload(self, name: str) -> None:
        await self._call("POST", "/v1/unload_lora_adapter", {"lora_name": name})

    async def _call(self, method: str, path: str, body: object = None) -> httpx.Response:
        try:
            reply = await self._client.request(
                method, self.url + path, json=body, headers=self._headers, timeout=120
            )
        except httpx.HTTPError as exc:
            raise AdapterServerError(f"{self.url} cannot be reached ({exc})") from exc
        if reply.status_code >= 400:
            raise AdapterServerError(f"{self.url}{path} answered {reply.status_code}: {reply.text}")
        return reply


async def reconcile(
    servers: Sequence[AdapterServer], active: AdapterRecord | None
) -> list[Reconciled]:
    """Each server ends up with the active adapter and no other of ours; failures are reported
    per server (the next pass retries), never raised, so one dead replica stops no other."""
    results = []
    for server in servers:
        try:
            results.append(await _one(server, active))
        except AdapterServerError as exc:
            log.warning("adapter reconcile failed for %s: %s", server.url, exc.message)
            results.append(Reconciled(server.url, error=exc.message))
    return results


async def _one(server: AdapterServer, active: AdapterRecord | None) -> Reconciled:
    present = await server.loaded()
    loaded: list[str] = []
    if active is not None and active.name not in present:
        await server.load(active.name, active.path)
        loaded.append(active.name)
    stale = sorted(
        n for n in present if n.startswith(PREFIX) and (active is None or n != active.name)
    )
    for name in stale:
        await server.unload(name)
    if loaded or stale:
        log.info("reconciled %s: loaded=%s unloaded=%s", server.url, loaded, stale)
    return Reconciled(server.url, tuple(loaded), tuple(stale))


def reconcile_urls(
    urls: Sequence[str], active: AdapterRecord | None, api_key: str = ""
) -> list[Reconciled]:
    """One reconcile pass over these servers' OpenAI-compatible base URLs (blocking)."""

    async def run() -> list[Reconciled]:
        async with httpx.AsyncClient() as http:
            return await reconcile([HttpAdapterServer(u, http, api_key) for u in urls], active)

    return asyncio.run(run())
