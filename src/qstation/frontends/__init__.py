"""Program front ends: OPENQASM 2.0 and QIR 1.0 into the internal program form."""

from __future__ import annotations

from qstation.circuit.program import Program
from qstation.errors import CompileError

QASM = "OPENQASM 2.0"
QIR = "QIR 1.0"
LANGUAGES = (QASM, QIR)


def compile_program(language: str, text: str) -> Program:
    """Translate a submitted program; imports are local so a worker loads only what it runs."""
    if language == QASM:
        from qstation.frontends.qasm import compile_qasm

        return compile_qasm(text)
    if language == QIR:
        from qstation.frontends.qir import compile_qir

        return compile_qir(text)
    raise CompileError(f"unsupported language {language!r}; use one of {list(LANGUAGES)}")
