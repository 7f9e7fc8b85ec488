"""Prometheus metrics: per-turn latency histograms, live sessions, and the signals an
autoscaler reads (live sessions of the instance, draining, queue lag, worker processes).

A scrape reaches one process; with ``--workers N`` the ``intrvuer_instance_*`` gauges
and ``intrvuer_worker_processes`` add up all workers of the instance (from the
supervisor's shared memory), so a scrape of any of them reports the instance."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response

from pipeline.metrics import TURN_METRICS
from storage.queue import JobQueue, LagReporting

if TYPE_CHECKING:
    from server.drain import Drain
    from server.supervisor import WorkerSlot

# Milliseconds: fine steps where conversational latency lives, coarse beyond.
_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)


class LiveMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()

        def gauge(name: str, documentation: str, *labels: str) -> Gauge:
            return Gauge(name, documentation, labels, registry=self.registry)

        self.sessions = gauge("intrvuer_live_sessions", "Live interview connections now open")
        self.instance_sessions = gauge(
            "intrvuer_instance_live_sessions",
            "Live interview connections open in all worker processes of this instance",
        )
        self.worker_sessions = gauge(
            "intrvuer_worker_live_sessions",
            "Live interview connections open per worker process of this instance",
            "worker",
        )
        self.draining = gauge(
            "intrvuer_draining", "1 while this instance drains: it takes no new live sessions"
        )
        self.worker_processes = gauge(
            "intrvuer_worker_processes", "Server worker processes of this instance now running"
        )
        self.worker_processes.set(1)
        self._queue_kinds: set[str] = set()
        self.answering_worker = gauge(
            "intrvuer_answering_worker",
            "1, labelled with the worker process (and its pid) that answered this scrape",
            "worker",
            "pid",
        )
        self.queue_pending = gauge(
            "intrvuer_queue_pending_jobs",
            "Jobs not finished (waiting, running, waiting for a retry), per kind",
            "kind",
        )
        self.queue_oldest_age = gauge(
            "intrvuer_queue_oldest_job_age_seconds",
            "Age of the oldest unfinished job, per kind",
            "kind",
        )
        self.histograms = {
            name: Histogram(
                f"intrvuer_turn_{name}",
                f"Per-turn {name.removesuffix('_ms').replace('_', ' ')} in milliseconds",
                buckets=_BUCKETS_MS,
                registry=self.registry,
            )
            for name in TURN_METRICS
        }

    def observe_turn(self, turn: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            histogram = self.histograms.get(name)
            if histogram is not None:
                histogram.observe(value)

    def watch_instance(self, drain: Drain, worker: WorkerSlot | None) -> None:
        """Read draining and the instance's sessions and processes at each scrape."""
        self.draining.set_function(lambda: 1.0 if drain.draining else 0.0)
        answering = "0" if worker is None else str(worker.index)
        self.answering_worker.labels(worker=answering, pid=str(os.getpid())).set(1)
        if worker is None:
            self.instance_sessions.set_function(lambda: float(drain.live))
            self.worker_sessions.labels(worker="0").set_function(lambda: float(drain.live))
            return
        slots = worker.slots
        self.instance_sessions.set_function(lambda: float(slots.live_total()))
        self.worker_processes.set_function(lambda: float(slots.running()))
        for index in range(len(slots.live)):
            self.worker_sessions.labels(worker=str(index)).set_function(
                _slot_reader(slots.live, index)
            )

    async def read_queue(self, queue: JobQueue) -> None:
        """Refresh the queue lag gauges (a kind with nothing pending reads 0)."""
        if not isinstance(queue, LagReporting):
            return
        lags = await queue.lag()
        seen = {lag.kind for lag in lags}
        for kind in self._queue_kinds - seen:
            self.queue_pending.labels(kind=kind).set(0)
            self.queue_oldest_age.labels(kind=kind).set(0)
        self._queue_kinds |= seen
        for lag in lags:
            self.queue_pending.labels(kind=lag.kind).set(lag.pending)
            self.queue_oldest_age.labels(kind=lag.kind).set(round(lag.oldest_age_s, 3))

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _slot_reader(counts: Sequence[int], index: int) -> Callable[[], float]:
    return lambda: float(counts[index])
