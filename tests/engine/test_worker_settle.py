"""``settle``, which a worker runs before its loop: start-up objects out of the cyclic collector's reach."""

from __future__ import annotations

import gc

from tidings.engine.worker import YOUNG_THRESHOLD, settle


def test_settle_freezes_what_exists_and_collects_less_often() -> None:
    gc.unfreeze()
    threshold = gc.get_threshold()
    try:
        settle()
        assert gc.get_freeze_count() > 1_000  # the modules, at least
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
