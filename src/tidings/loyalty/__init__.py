"""The loyalty program: bonus accruals, audience changes and subscription sync, sent through one adapter.

Requests are rows in ``loyalty_requests`` (written set-at-a-time by the nodes and the subscription service, in
their own transactions); ``LoyaltyProcessor`` claims them, hands them to the configured ``LoyaltyAdapter`` —
the built-in points ledger or the HTTP adapter — and records each outcome.
"""
