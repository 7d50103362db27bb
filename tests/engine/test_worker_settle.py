"""``settle``, which a worker runs before its loop: start-up objects out of the cyclic collector's reach."""

from __future__ import annotations

import gc

from tidings.engine.worker import settle


def test_settle_freezes_what_exists() -> None:
    gc.unfreeze()
    try:
        settle()
        assert gc.get_freeze_count() > 1_000  # the modules, at least
    finally:
        gc.unfreeze()
