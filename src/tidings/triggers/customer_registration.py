"""Customer registration: a customer created in Tidings (``customer_registered``) enters, optionally only if their
profile meets a condition (spec 4.2, "Customer registration + filter")."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict

from tidings.model.domain_events import CUSTOMER_REGISTERED
from tidings.triggers.domain_event import CustomerFilter, DomainEventTrigger


class CustomerRegistrationConfig(CustomerFilter):
    model_config = ConfigDict(extra="forbid", title="Customer registration")


class CustomerRegistration(DomainEventTrigger):
    type: ClassVar[str] = "customer_registration"
    title: ClassVar[str] = "Customer registration"
    event: ClassVar[str] = CUSTOMER_REGISTERED
    config_model = CustomerRegistrationConfig
