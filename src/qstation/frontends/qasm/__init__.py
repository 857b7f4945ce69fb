"""OPENQASM 2.0 (hqslib1) front end."""

from qstation.frontends.qasm.translate import compile_qasm

__all__ = ["compile_qasm"]
