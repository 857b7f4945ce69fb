"""QIR front end: base64 LLVM bitcode, as pytket-qir and other QIR writers write it, into the
internal form."""

from qstation.frontends.qir.translate import compile_qir

__all__ = ["compile_qir"]
