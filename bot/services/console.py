"""What admins do in the web console: manage the material, watch and retry jobs, review
unanswered and 👎 answers. Every change is recorded in the admin action log."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from bot.domain.conversation import Actor, Place
from bot.domain.errors import LearnLoopError, NotAllowed
from bot.domain.jobs import FINAL, Job, JobStatus
from bot.domain.material import (
    ChunkView,
    DocumentInfo,
    MaterialRow,
    ReviewItem,
    doc_id_of,
    material_rows,
    may_see,
)
from bot.domain.ports import Catalog, ReviewQueue
from bot.services.chat import ChatService
from bot.services.jobs import JobService
from bot.services.web import WebSignIn


class UnknownDocument(LearnLoopError):
    code = "unknown_document"


class NotKept(LearnLoopError):
    """A re-ingest of a document whose original file is not kept (upload it again)."""

    code = "not_kept"


class Console:
    def __init__(
        self,
        catalog: Catalog,
        review: ReviewQueue,
        chat: ChatService,
        jobs: JobService,
        signin: WebSignIn,
    ) -> None:
        self.catalog = catalog
        self.review = review
        self.chat = chat
        self.jobs = jobs
        self.signin = signin

    def _admin(self, actor: Actor) -> None:
        if not self.signin.is_admin(actor):
            raise NotAllowed(f"{actor.key} is not an admin")

    # -- what anyone signed in may read
    async def source(self, actor: Actor, place: Place, chunk_id: str) -> ChunkView:
        """A cited passage, for a viewer in one of its audiences (as their DM answer is)."""
        audiences = await self.chat.audiences(actor, place)
        chunks = await asyncio.to_thread(self.catalog.chunks, doc_id_of(chunk_id))
        found = next((c for c in chunks if c.chunk_id == chunk_id), None)
        if found is None:
            raise UnknownDocument(f"no passage {chunk_id}")
        if not may_see(audiences, found.audiences):
            raise NotAllowed(f"{actor.key} may not see {chunk_id}")
        return found

    # -- material
    async def documents(self, actor: Actor) -> list[DocumentInfo]:
        self._admin(actor)
        return list(await asyncio.to_thread(self.catalog.documents))

    async def material(self, actor: Actor, window: int = 200) -> list[MaterialRow]:
        """The documents with their state from the ingest jobs: every unfinished one, and
        the newest `window` of all (the newest job naming a document decides its state)."""
        docs = await self.documents(actor)
        unfinished = [s for s in JobStatus if s not in FINAL]
        recent = self.jobs.recent
        active, latest = await asyncio.gather(
            asyncio.to_thread(lambda: recent(statuses=unfinished, kind="ingest", limit=window)),
            asyncio.to_thread(lambda: recent(kind="ingest", limit=window)),
        )
        return material_rows(docs, {j.id: j for j in (*active, *latest)}.values())

    async def preview(self, actor: Actor, doc_id: str) -> tuple[DocumentInfo, list[ChunkView]]:
        docs = {d.doc_id: d for d in await self.documents(actor)}
        if doc_id not in docs:
            raise UnknownDocument(f"no document {doc_id}")
        return docs[doc_id], list(await asyncio.to_thread(self.catalog.chunks, doc_id))

    async def upload(
        self, actor: Actor, place: Place, name: str, data: bytes, audiences: tuple[str, ...]
    ) -> Job:
        """The chat upload (same checks), queued; progress is read from the job."""
        self._admin(actor)
        job = await self.chat.upload(actor, place, name, data, audiences)
        detail = f"{name} for {', '.join(audiences)} (job {job.id})"
        await self.signin.record(actor, "upload", detail)
        return job

    async def reingest(self, actor: Actor, doc_id: str) -> Job:
        doc, _ = await self.preview(actor, doc_id)
        path = await asyncio.to_thread(self.catalog.original, doc.source)
        if path is None:
            raise NotKept(f"the file {doc.source} was read from is not kept; upload it again")
        job = await self.jobs.enqueue_ingest(
            [Path(path)], doc.audiences, requested_by=actor.key, names=[doc.source]
        )
        await self.signin.record(actor, "reingest", f"{doc.source} (job {job.id})")
        return job

    async def delete(self, actor: Actor, doc_id: str) -> DocumentInfo:
        doc, _ = await self.preview(actor, doc_id)
        removed = await asyncio.to_thread(self.catalog.remove, doc.source)
        if removed is None:
            raise UnknownDocument(f"no document {doc.source}")
        await self.signin.record(actor, "delete", f"{doc.source} ({doc.chunks} chunks)")
        return removed

    # -- jobs
    async def job_list(self, actor: Actor, limit: int = 100) -> list[Job]:
        self._admin(actor)
        return await asyncio.to_thread(lambda: self.jobs.recent(limit=limit))

    async def job(self, actor: Actor, job_id: str) -> Job:
        self._admin(actor)
        return await asyncio.to_thread(self.jobs.get, job_id)

    async def retry(self, actor: Actor, job_id: str) -> Job:
        self._admin(actor)
        job = await self.jobs.retry(job_id)
        await self.signin.record(actor, "retry", f"job {job_id}")
        return job

    # -- feedback review
    async def to_review(self, actor: Actor, limit: int = 100) -> Sequence[ReviewItem]:
        self._admin(actor)
        return await asyncio.to_thread(self.review.items, limit)

    async def correct(self, actor: Actor, answer_id: str, text: str) -> None:
        """The right answer, stored as a correction for the training loop."""
        self._admin(actor)
        await self.chat.feedback(actor, answer_id, "correction", text.strip())
        await self.signin.record(actor, "correction", f"answer {answer_id}")
