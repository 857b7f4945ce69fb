"""Helpers for the tests of the QIR dialects: modules that declare the dialects' functions,
and the seeded comparison of a dialect's program with its static form."""

from __future__ import annotations

from qstation.circuit.program import Program
from tests.unit.test_frontend_qir import ENGINE, from_body

_DECLARATIONS = """
declare void @__quantum__rt__tuple_start_record_output()
declare void @__quantum__rt__tuple_end_record_output()
declare void @__quantum__rt__array_start_record_output()
declare void @__quantum__rt__array_end_record_output()
declare ptr @__quantum__rt__qubit_allocate()
declare void @__quantum__rt__qubit_release(ptr)
declare ptr @__quantum__rt__qubit_allocate_array(i64)
declare void @__quantum__rt__qubit_release_array(ptr)
declare ptr @__quantum__rt__array_get_element_ptr_1d(ptr, i64)
declare void @__quantum__rt__message(ptr)
declare ptr @__quantum__qis__m__body(ptr)
declare ptr @__quantum__rt__result_get_one()
declare ptr @__quantum__rt__result_get_zero()
declare i1 @__quantum__rt__result_equal(ptr, ptr)
declare void @__quantum__rt__result_update_reference_count(ptr, i32)
declare void @__quantum__rt__qubit_update_reference_count(ptr, i32)
"""
DYNAMIC = '"entry_point" "required_num_results"="3"'  # no qubit count: the program allocates


def dialect_program(body: str, attributes: str | None = None) -> Program:
    """``body`` as the entry point of a module that also declares the dialects' functions."""
    if attributes is None:
        return from_body(body, extra=_DECLARATIONS)
    return from_body(body, attributes, extra=_DECLARATIONS)


def same_shots(program: Program, reference: Program, shots: int = 200) -> None:
    """Both programs give the same outputs in every shot of a seeded run."""
    results = ENGINE.run(program, shots, seed=7)
    assert results == ENGINE.run(reference, shots, seed=7)
    assert len(set(zip(*results.values(), strict=True))) > 1  # the shots do differ


def allocate(*names: str) -> str:
    return "".join(f"\n  %{name} = call ptr @__quantum__rt__qubit_allocate()" for name in names)


def release(*names: str) -> str:
    return "".join(f"\n  call void @__quantum__rt__qubit_release(ptr %{name})" for name in names)
