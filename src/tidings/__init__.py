"""Tidings: customer-communication campaigns."""

__version__ = "0.1.0"
