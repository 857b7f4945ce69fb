"""Emulation engines behind one protocol, plus the syntax checker."""
