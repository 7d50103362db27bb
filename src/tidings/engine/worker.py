"""The worker loop: tick the scheduler until stopped, sleeping only when a tick found nothing to do.

On PostgreSQL a worker runs each lane of the scheduler (``scheduler.LANES``) in a loop of its own: while a chunk's
statements run in the database, this process renders and hands over messages instead of waiting, and a message
queued by a chunk goes out while the next chunk moves. SQLite has one writer for the whole database, so there the
lanes take turns in one loop.
"""

from __future__ import annotations

import gc
import logging
import threading

from tidings.engine.scheduler import LANES, Lane, Scheduler

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
    """Tick until ``stop`` is set: every lane in a thread of its own on PostgreSQL, all in this one on SQLite."""
    settle()
    if not scheduler.db.is_postgres:
        _run_lane(scheduler, None, stop, idle_seconds)
        return
    others = [
        threading.Thread(target=_run_lane, args=(scheduler, lane, stop, idle_seconds), name=f"tidings-{lane}")
        for lane in LANES[1:]
    ]
    for thread in others:
        thread.start()
    try:
        _run_lane(scheduler, LANES[0], stop, idle_seconds)
    finally:
        stop.set()  # one lane ending ends the worker: a half-working worker would look alive and do half its job
        for thread in others:
            thread.join()


def _run_lane(scheduler: Scheduler, lane: Lane | None, stop: threading.Event, idle_seconds: float) -> None:
    while not stop.is_set():
        try:
            report = scheduler.tick(lane)
        except Exception:  # keep the worker alive; what the failed round held is rolled back and retried
            log.exception("scheduler tick failed (%s)", lane or "all lanes")
            stop.wait(idle_seconds)
            continue
        if not report.busy:
            stop.wait(idle_seconds)
