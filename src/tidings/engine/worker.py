"""The worker loop: tick the scheduler until stopped, sleeping only when a tick found nothing to do."""

from __future__ import annotations

import gc
import logging
import threading

from tidings.engine.scheduler import Scheduler

log = logging.getLogger("tidings.worker")


def settle() -> None:
    """Put what exists when a worker starts — modules, settings, services, their caches — out of the cyclic
    garbage collector's reach (``gc.freeze``): it lives as long as the process, yet every full collection would
    walk it again, and a delivery chunk's thousands of short-lived objects trigger such collections often enough
    to cost a third of the delivery's CPU (``bench.delivery``). Reference counting still frees what is dropped."""
    gc.collect()
    gc.freeze()


def run_loop(scheduler: Scheduler, stop: threading.Event, idle_seconds: float) -> None:
    settle()
    while not stop.is_set():
        try:
            report = scheduler.tick()
        except Exception:  # keep the worker alive; the failed chunk's lease expires and it is retried
            log.exception("scheduler tick failed")
            stop.wait(idle_seconds)
            continue
        if not report.busy:
            stop.wait(idle_seconds)
