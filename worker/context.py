"""Who this worker process is, for job leases."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    """host:pid, unique among the workers that may claim a job."""
    return f"{socket.gethostname()}:{os.getpid()}"
