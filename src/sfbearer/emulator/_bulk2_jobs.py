"""Bulk API 2.0 jobs: what one job holds, the bounded in-memory store, the job info shapes.

Jobs live in memory only (one store per emulated org, made on first use): a restart forgets
them, as the records they wrote stay in the org. The store is bounded: at most
:data:`MAX_JOBS` jobs and :data:`MAX_TOTAL_BYTES` of uploaded data and results in all. When a
new job or new data needs room, the oldest finished jobs (``JobComplete``, ``Failed``,
``Aborted``) are forgotten first, as Salesforce forgets jobs after seven days; when only
unfinished jobs are left, the request is refused with a clear 400 or 413.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sfbearer.emulator.context import Context
from sfbearer.emulator.schema import ApiErrorResponse, format_datetime, make_id, normalize_id

__all__ = [
    "FINISHED",
    "MAX_JOBS",
    "MAX_JOB_BYTES",
    "MAX_TOTAL_BYTES",
    "Job",
    "JobStore",
    "job_info",
    "jobs_of",
    "not_found",
    "touch",
]

MAX_JOBS = 1000
"""Jobs one org keeps (finished ones are forgotten, oldest first, beyond it)."""
MAX_JOB_BYTES = 20 * 1024 * 1024
"""Uploaded CSV one ingest job may hold (Salesforce: 150 MB per upload; the emulator is smaller)."""
MAX_TOTAL_BYTES = 100 * 1024 * 1024
"""Uploads and results all jobs of one org may hold together."""
FINISHED = frozenset({"JobComplete", "Failed", "Aborted"})


def not_found() -> ApiErrorResponse:
    return ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")


@dataclass
class Job:
    """One ingest or query job; ``results`` holds the result files once processed."""

    id: str
    kind: str  # "ingest" or "query"
    operation: str
    object: str
    created_by: str
    created: str
    api_version: str
    delimiter: str  # the columnDelimiter name: COMMA, TAB...
    line_ending: str  # LF or CRLF
    external_id: str | None = None
    query: str = ""
    state: str = "Open"
    modstamp: str = ""
    uploads: list[bytes] = field(default_factory=list)
    results: dict[str, bytes] = field(default_factory=dict)
    header: bytes = b""  # a query result's header line
    lines: list[bytes] = field(default_factory=list)  # a query result's rows, one line each
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    processing_ms: int = 0

    @property
    def size(self) -> int:
        """The bytes this job holds (uploads, result files, query rows)."""
        held = sum(map(len, self.uploads)) + sum(map(len, self.results.values()))
        return held + len(self.header) + sum(map(len, self.lines))


class JobStore:
    """The jobs of one org, bounded in number and in bytes; every method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._next = 1

    def new_id(self) -> str:
        with self._lock:
            number, self._next = self._next, self._next + 1
        return make_id("750", number)

    def _evict(self, keep: str, need_jobs: int, need_bytes: int) -> bool:
        """Forget finished jobs (oldest first, never ``keep``) until the room is there."""
        total = sum(job.size for job in self._jobs.values())
        for job_id in list(self._jobs):
            if len(self._jobs) + need_jobs <= MAX_JOBS and total + need_bytes <= MAX_TOTAL_BYTES:
                break
            job = self._jobs[job_id]
            if job_id != keep and job.state in FINISHED:
                total -= job.size
                del self._jobs[job_id]
        return len(self._jobs) + need_jobs <= MAX_JOBS and total + need_bytes <= MAX_TOTAL_BYTES

    def add(self, job: Job) -> None:
        with self._lock:
            if not self._evict(job.id, 1, job.size):
                raise ApiErrorResponse(
                    400, "LIMIT_EXCEEDED",
                    f"The org already holds {MAX_JOBS} unfinished Bulk API 2.0 jobs: close, "
                    "abort or delete some",
                )  # fmt: skip
            self._jobs[job.id] = job

    def make_room(self, job: Job, extra: int) -> None:
        """Room for ``extra`` more bytes in ``job``; 413 when the job or the org is full."""
        with self._lock:
            if job.size + extra > MAX_JOB_BYTES or not self._evict(job.id, 0, extra):
                raise ApiErrorResponse(
                    413, "REQUEST_ENTITY_TOO_LARGE",
                    f"A job may hold at most {MAX_JOB_BYTES // (1024 * 1024)} MB of CSV data",
                )  # fmt: skip

    def get(self, kind: str, job_id: str) -> Job:
        full = normalize_id(job_id)
        with self._lock:
            job = self._jobs.get(full) if full else None
        if job is None or job.kind != kind:
            raise not_found()
        return job

    def remove(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)

    def listed(self, kind: str) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if job.kind == kind]


_CREATE_LOCK = threading.Lock()


def jobs_of(ctx: Context) -> JobStore:
    """The org's job store, made on first use (it lives as long as the emulator)."""
    store = getattr(ctx, "_bulk2_jobs", None)
    if store is None:
        with _CREATE_LOCK:
            store = getattr(ctx, "_bulk2_jobs", None)
            if store is None:
                store = JobStore()
                setattr(ctx, "_bulk2_jobs", store)  # noqa: B010 (Context has no such field)
    assert isinstance(store, JobStore)
    return store


def touch(ctx: Context, job: Job, state: str | None = None) -> None:
    """A change to ``job``: a new ``systemModstamp`` (and state)."""
    if state is not None:
        job.state = state
    job.modstamp = format_datetime(ctx.clock.utcnow())


def job_info(job: Job, *, detail: bool, listed: bool = False) -> dict[str, Any]:
    """The job info Salesforce answers: ``detail`` adds the counters (GET one job)."""
    info: dict[str, Any] = {
        "id": job.id, "operation": job.operation, "object": job.object,
        "createdById": job.created_by, "createdDate": job.created,
        "systemModstamp": job.modstamp or job.created, "state": job.state,
    }  # fmt: skip
    if job.external_id is not None:
        info["externalIdFieldName"] = job.external_id
    info.update(concurrencyMode="Parallel", contentType="CSV", apiVersion=float(job.api_version))
    if listed or detail:
        info["jobType"] = "V2Ingest" if job.kind == "ingest" else "V2Query"
    if job.kind == "ingest" and not listed:
        info["contentUrl"] = f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches"
    info.update(lineEnding=job.line_ending, columnDelimiter=job.delimiter)
    if detail:
        info["numberRecordsProcessed"] = job.processed
        if job.kind == "ingest":
            info["numberRecordsFailed"] = job.failed
        info["retries"] = 0
        info["totalProcessingTime"] = job.processing_ms
        if job.kind == "ingest":
            info.update(apiActiveProcessingTime=job.processing_ms, apexProcessingTime=0)
        else:
            info["isPkChunkingSupported"] = False  # PK chunking is not emulated
        if job.error_message is not None:
            info["errorMessage"] = job.error_message
    return info
