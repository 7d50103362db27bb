"""Tidings: customer-communication campaigns."""
