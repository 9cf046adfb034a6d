"""The Prometheus metrics of LearnLoop's own processes (the default registry, which also
carries the process's CPU and memory). Served on /metrics by `bot.runtime.ops`."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 80.0)

# the chat bots
EVENTS = Counter("learnloop_events", "Chat platform events received.", ["platform", "kind"])
ACK_SECONDS = Histogram(
    "learnloop_ack_seconds",
    "Time from an event's arrival to its acknowledgement (the HTTP response).",
    ["platform"],
    buckets=LATENCY_BUCKETS,
)
ANSWER_SECONDS = Histogram(
    "learnloop_answer_seconds",
    "Time from a question to its checked answer.",
    ["platform"],
    buckets=LATENCY_BUCKETS,
)
REFUSALS = Counter("learnloop_refusals", "Questions the material could not answer.", ["platform"])
FEEDBACK = Counter("learnloop_feedback", "Feedback on answers, by rating.", ["platform", "rating"])

# the workers
JOBS = Counter("learnloop_jobs", "Tasks that ended, by task and state.", ["task", "state"])
JOB_SECONDS = Histogram(
    "learnloop_job_seconds",
    "Task run time.",
    ["task"],
    buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 7200.0),
)
