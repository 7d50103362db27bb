"""The worker loop: tick the scheduler until stopped, sleeping only when a tick found nothing to do."""

from __future__ import annotations

import gc
import logging
import threading

from tidings.engine.scheduler import Scheduler

log = logging.getLogger("tidings.worker")


#: Allocations between two collections of the youngest generation (Python's default: 700). A delivery chunk keeps
#: its messages' rows, variables and texts alive until it is recorded; collected every 700 allocations, the older
#: generations filled with them and were walked again and again (a fifth of the sandbox's CPU, ``bench.delivery``).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Put what exists when a worker starts — modules, settings, services, their caches — out of the cyclic
    garbage collector's reach (``gc.freeze``): it lives as long as the process, yet every full collection would
    walk it again, and a delivery chunk's thousands of short-lived objects trigger such collections often enough
    to cost a third of the delivery's CPU (``bench.delivery``); and collect less often (``YOUNG_THRESHOLD``).
    Reference counting still frees what is dropped."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


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
