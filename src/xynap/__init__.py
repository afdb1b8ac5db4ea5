"""XyNaP: a modular, multi-tenant business platform."""

__version__ = "0.1.0"
