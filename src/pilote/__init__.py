"""Pilote: a self-hosted cockpit for the people who run online communities."""

__version__ = "0.1.0"
