"""QIR as toolchains other than pytket-qir write it (qat, Q#, CUDA-Q, pyqir's older examples).

Each dialect is checked against the same program written in the form pytket-qir writes (static
qubits and results, QIR 1.0 output recording): both run on the state-vector engine with one seed
and must give the same shots.
"""

from __future__ import annotations

import pytest

from qstation.circuit.program import Program
from qstation.errors import CompileError
from tests.unit.test_frontend_qir import ENGINE, Q, from_body

_DIALECT_DECLARATIONS = """
declare void @__quantum__rt__tuple_start_record_output()
declare void @__quantum__rt__tuple_end_record_output()
declare void @__quantum__rt__array_start_record_output()
declare void @__quantum__rt__array_end_record_output()
"""


def dialect_program(body: str, attributes: str | None = None) -> Program:
    """``body`` as the entry point of a module that also declares the dialects' functions."""
    if attributes is None:
        return from_body(body, extra=_DIALECT_DECLARATIONS)
    return from_body(body, attributes, extra=_DIALECT_DECLARATIONS)


def same_shots(program: Program, reference: Program, shots: int = 200) -> None:
    """Both programs give the same outputs in every shot of a seeded run."""
    results = ENGINE.run(program, shots, seed=7)
    assert results == ENGINE.run(reference, shots, seed=7)
    assert len(set(zip(*results.values(), strict=True))) > 1  # the shots do differ


# --- output recording: start/end pairs ---------------------------------------------------------

_BELL = f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__cnot__body({Q[0]}, {Q[1]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[0]})
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  %bit = call i1 @__quantum__qis__read_result__body({Q[1]})"""
_RECORDS = f"""
  call void @__quantum__rt__result_record_output({Q[0]}, ptr @a)
  call void @__quantum__rt__result_record_output({Q[1]}, ptr @b)
  call void @__quantum__rt__bool_record_output(i1 %bit, ptr @c)"""


_TUPLE = "@__quantum__rt__tuple_start_record_output()", "@__quantum__rt__tuple_end_record_output()"
_ARRAY = "@__quantum__rt__array_start_record_output()", "@__quantum__rt__array_end_record_output()"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (f"call void {_TUPLE[0]}", f"call void {_TUPLE[1]}"),
        (f"call void {_ARRAY[0]}", f"call void {_ARRAY[1]}"),
        (  # with a label, as some writers give the markers
            "call void (ptr) @__quantum__rt__array_start_record_output(ptr @d)",
            "call void (ptr) @__quantum__rt__array_end_record_output(ptr @d)",
        ),
        (  # nested
            f"call void {_TUPLE[0]}\n  call void {_ARRAY[0]}",
            f"call void {_ARRAY[1]}\n  call void {_TUPLE[1]}",
        ),
    ],
)
def test_start_and_end_markers_group_records_as_the_one_call_markers_do(
    start: str, end: str
) -> None:
    grouped = dialect_program(f"{_BELL}\n  {start}{_RECORDS}\n  {end}")
    reference = from_body(
        f"{_BELL}\n  call void @__quantum__rt__tuple_record_output(i64 3, ptr null){_RECORDS}"
    )

    assert list(grouped.outputs()) == ["a", "b", "c"]  # the markers record nothing
    same_shots(grouped, reference)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  call void @__quantum__rt__tuple_end_record_output()",
            r"'__quantum__rt__tuple_end_record_output' has no matching "
            r"'__quantum__rt__tuple_start_record_output'$",
        ),
        (
            "  call void @__quantum__rt__tuple_start_record_output()\n"
            "  call void @__quantum__rt__array_end_record_output()",
            r"'__quantum__rt__array_end_record_output' has no matching "
            r"'__quantum__rt__array_start_record_output' \(the tuple started last is still open\)",
        ),
        (
            "  call void @__quantum__rt__array_start_record_output()\n"
            "  call void @__quantum__rt__tuple_start_record_output()\n"
            "  call void @__quantum__rt__tuple_end_record_output()",
            "'__quantum__rt__array_start_record_output' has no matching "
            "'__quantum__rt__array_end_record_output'",
        ),
        (
            "  call void (i64) @__quantum__rt__tuple_start_record_output(i64 2)",
            "'__quantum__rt__tuple_start_record_output' takes no arguments or one label",
        ),
        (
            "  call void (ptr, ptr) @__quantum__rt__array_end_record_output(ptr @a, ptr @b)",
            "'__quantum__rt__array_end_record_output' takes no arguments or one label",
        ),
    ],
)
def test_markers_that_do_not_pair_up_are_compile_errors_naming_them(
    body: str, message: str
) -> None:
    with pytest.raises(CompileError, match=message):
        dialect_program(body)
