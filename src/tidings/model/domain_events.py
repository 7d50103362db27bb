"""The events Tidings records by itself when customer data changes (issue 14: domain events from data).

They are stored in ``events`` in the same transaction as the change and reach the event triggers like any
event posted through the API. Names and properties:

* ``customer_registered`` — a customer was created (the first upsert of an external id); occurred at the
  customer's ``registered_at`` when given, else when received. No properties.
* ``order_created`` — an order (kind ``order``) was stored for the first time; occurred at ``placed_at``.
* ``order_status_changed`` — an order's status differs from the one stored before (a new order counts as a
  change from none: ``old_status`` null); occurred when received.
* ``order_paid`` / ``order_cancelled`` — an order's status became ``paid`` / ``cancelled`` (it was not before);
  occurred at ``paid_at`` / ``cancelled_at`` when given, else when received.
* ``receipt_issued`` — a receipt was stored for the first time; occurred at ``placed_at``.

Every order event has the properties ``order`` (external id), ``kind``, ``status``, ``old_status``, ``total``,
``store`` and ``items`` (``sku``, ``category``, ``quantity``, ``price``, ``amount`` of each line). Upserting an
order again with the same status records nothing, so an order-paid campaign fires once per order.

A bulk import may be told not to record them (a historic backfill must not fire campaigns).
"""

from __future__ import annotations

from typing import Final, Literal

DomainEvent = Literal[
    "customer_registered", "order_created", "order_status_changed", "order_paid", "order_cancelled", "receipt_issued"
]

CUSTOMER_REGISTERED: Final = "customer_registered"
ORDER_CREATED: Final = "order_created"
ORDER_STATUS_CHANGED: Final = "order_status_changed"
ORDER_PAID: Final = "order_paid"
ORDER_CANCELLED: Final = "order_cancelled"
RECEIPT_ISSUED: Final = "receipt_issued"
#: The events that name an order or receipt (properties ``order`` and ``kind``).
ORDER_EVENTS: Final = frozenset({ORDER_CREATED, ORDER_STATUS_CHANGED, ORDER_PAID, ORDER_CANCELLED, RECEIPT_ISSUED})
