"""qstation: a self-hosted quantum job service speaking the H-Series machine API v1."""

__version__ = "0.1.0"
