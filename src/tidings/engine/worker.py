"""The worker loop: tick the scheduler until stopped, sleeping only when a tick found nothing to do."""

from __future__ import annotations

import logging
import threading

from tidings.engine.scheduler import Scheduler

log = logging.getLogger("tidings.worker")


def run_loop(scheduler: Scheduler, stop: threading.Event, idle_seconds: float) -> None:
    while not stop.is_set():
        try:
            report = scheduler.tick()
        except Exception:  # keep the worker alive; the failed chunk's lease expires and it is retried
            log.exception("scheduler tick failed")
            stop.wait(idle_seconds)
            continue
        if not report.busy:
            stop.wait(idle_seconds)
