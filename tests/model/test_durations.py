from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from tidings.actions import eligibility, send_notification
from tidings.actions.wait import WaitConfig
from tidings.model.durations import Duration


@pytest.mark.parametrize("model", [WaitConfig, eligibility.Lifetime, send_notification.Lifetime])
def test_every_duration_takes_the_same_units_and_bounds(model: type[Duration]) -> None:
    for unit, delta in (("minutes", timedelta(minutes=90)), ("hours", timedelta(hours=90)), ("days", timedelta(90))):
        assert model(amount=90, unit=unit).delta() == delta
    assert model(amount=100_000, unit="days").delta() == timedelta(days=100_000)
    for bad in ({"amount": 0, "unit": "days"}, {"amount": 100_001, "unit": "days"}, {"amount": 1, "unit": "weeks"}):
        with pytest.raises(ValidationError):
            model.model_validate(bad)


def test_the_unit_defaults_to_days_except_in_a_message_lifetime() -> None:
    assert WaitConfig(amount=2).delta() == send_notification.Lifetime(amount=2).delta() == timedelta(days=2)
    with pytest.raises(ValidationError, match="unit"):
        eligibility.Lifetime.model_validate({"amount": 2})
