"""Glia: a Matrix homeserver built around administration."""

__version__ = "0.1.0"
