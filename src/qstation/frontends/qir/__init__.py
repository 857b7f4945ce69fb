"""QIR 1.0 front end: base64 LLVM bitcode, as pytket-qir writes it, into the internal form."""

from qstation.frontends.qir.translate import compile_qir

__all__ = ["compile_qir"]
