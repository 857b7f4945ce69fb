"""QIR's dynamic qubits (``qubit_allocate``, ``qubit_release``), as qat, Q# and pyqir's older
examples write them: each program is checked against its static form on the state-vector engine
with one seed, and misuse is refused with a message naming the cause.
"""

from __future__ import annotations

import pytest

from qstation.circuit.program import Gate, Reset, unconditioned
from qstation.devices.catalogue import DeviceCatalogue
from qstation.devices.validation import check_program_fits
from qstation.errors import CompileError
from tests.unit.qir_dialects import DYNAMIC, allocate, dialect_program, release, same_shots
from tests.unit.test_frontend_qir import Q, from_body

_RECORD_THREE = f"""
  call void @__quantum__rt__result_record_output({Q[0]}, ptr @a)
  call void @__quantum__rt__result_record_output({Q[1]}, ptr @b)
  call void @__quantum__rt__result_record_output({Q[2]}, ptr @c)"""


def test_allocated_qubits_run_as_static_ones_and_a_reused_one_is_reset_first() -> None:
    dynamic = dialect_program(
        f"""{allocate("q", "r")}
  call void @__quantum__qis__h__body(ptr %q)
  call void @__quantum__qis__cnot__body(ptr %q, ptr %r)
  call void @__quantum__qis__mz__body(ptr %q, {Q[0]})
  call void @__quantum__qis__mz__body(ptr %r, {Q[1]}){release("q", "r")}{allocate("s")}
  call void @__quantum__qis__ry__body(double 1.0, ptr %s)
  call void @__quantum__qis__mz__body(ptr %s, {Q[2]}){release("s")}{_RECORD_THREE}""",
        DYNAMIC,
    )
    static = from_body(
        f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__cnot__body({Q[0]}, {Q[1]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[0]})
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  call void @__quantum__qis__reset__body({Q[0]})
  call void @__quantum__qis__ry__body(double 1.0, {Q[0]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[2]}){_RECORD_THREE}""",
        '"entry_point" "required_num_qubits"="2" "required_num_results"="3"',
    )

    assert dynamic.n_qubits == 2  # the peak allocated at once, not the three allocations
    assert dynamic.operations == static.operations  # the reuse of qubit 0 resets it first
    same_shots(dynamic, static)


def test_a_qubit_allocated_and_released_in_a_branch_is_reused_after_it() -> None:
    branch = f"""
  %bit = call i1 @__quantum__qis__read_result__body({Q[0]})
  br i1 %bit, label %then, label %join
then:"""
    dynamic = dialect_program(
        f"""{allocate("q")}
  call void @__quantum__qis__h__body(ptr %q)
  call void @__quantum__qis__mz__body(ptr %q, {Q[0]}){branch}{allocate("t")}
  call void @__quantum__qis__h__body(ptr %t)
  call void @__quantum__qis__mz__body(ptr %t, {Q[1]}){release("t")}
  br label %join
join:{allocate("u")}
  call void @__quantum__qis__h__body(ptr %u)
  call void @__quantum__qis__mz__body(ptr %u, {Q[2]}){_RECORD_THREE}""",
        DYNAMIC,
    )
    static = from_body(
        f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[0]}){branch}
  call void @__quantum__qis__h__body({Q[1]})
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  br label %join
join:
  call void @__quantum__qis__reset__body({Q[1]})
  call void @__quantum__qis__h__body({Q[1]})
  call void @__quantum__qis__mz__body({Q[1]}, {Q[2]}){_RECORD_THREE}""",
        '"entry_point" "required_num_qubits"="2" "required_num_results"="3"',
    )

    assert dynamic.n_qubits == 2
    same_shots(dynamic, static)


def test_a_release_in_another_branch_than_its_allocation_gives_no_index_back() -> None:
    program = dialect_program(
        f"""{allocate("q")}
  call void @__quantum__qis__h__body(ptr %q)
  call void @__quantum__qis__mz__body(ptr %q, {Q[0]})
  %bit = call i1 @__quantum__qis__read_result__body({Q[0]})
  br i1 %bit, label %then, label %join
then:{release("q")}
  br label %join
join:{allocate("r")}
  call void @__quantum__qis__x__body(ptr %r)""",
        DYNAMIC,
    )

    assert program.n_qubits == 2  # in the shots that skip the release, %q is still held
    assert program.operations[-1] == Gate("X", (1,))  # a new qubit: nothing to reset
    assert not any(isinstance(unconditioned(op), Reset) for op in program.operations)


def test_qir_2_allocation_with_a_null_out_err_is_the_same_allocation() -> None:
    program = dialect_program(
        "  %q = call ptr (ptr) @__quantum__rt__qubit_allocate(ptr null)\n"
        "  call void @__quantum__qis__x__body(ptr %q)",
        DYNAMIC,
    )

    assert program.operations == (Gate("X", (0,)),)


H1_1E = DeviceCatalogue.load().get("H1-1E")


def test_the_qubit_count_checked_against_the_device_is_the_peak_allocated_at_once() -> None:
    def layer(names: list[str]) -> str:
        gates = "".join(f"\n  call void @__quantum__qis__x__body(ptr %{name})" for name in names)
        return allocate(*names) + gates

    first, second = ([f"{name}{index}" for index in range(H1_1E.n_qubits)] for name in "qr")
    twice = dialect_program(layer(first) + release(*first) + layer(second), DYNAMIC)
    one_more = dialect_program(layer([*first, "extra"]), DYNAMIC)

    assert twice.n_qubits == H1_1E.n_qubits
    check_program_fits(twice, H1_1E)
    with pytest.raises(CompileError, match="program uses 21 qubits but H1-1E has 20"):
        check_program_fits(one_more, H1_1E)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"  call void @__quantum__rt__qubit_release({Q[1]})",
            r"qubit_release of ptr inttoptr \(i64 1 to ptr\), which no qubit_allocate returned",
        ),
        (
            allocate("q") + release("q", "q"),
            "qubit %q is released twice",
        ),
        (
            allocate("q") + release("q") + "\n  call void @__quantum__qis__h__body(ptr %q)",
            "qubit %q is used after its qubit_release",
        ),
        (
            allocate("q", "r", "s"),
            "3 qubits are allocated at once, but the entry point declares 2",
        ),
        (
            allocate("q") + f"\n  call void @__quantum__qis__h__body({Q[0]})",
            "an entry point uses static qubit ids or __quantum__rt__qubit_allocate, not both",
        ),
        (
            f"  call void @__quantum__qis__h__body({Q[0]})" + allocate("q"),
            "an entry point uses static qubit ids or __quantum__rt__qubit_allocate, not both",
        ),
        (
            "  %q = call ptr (ptr) @__quantum__rt__qubit_allocate(ptr @a)",
            "'__quantum__rt__qubit_allocate' takes no arguments or a null out_err",
        ),
        (
            "  %a = call ptr @__quantum__rt__qubit_allocate_array(i64 2)",
            "'__quantum__rt__qubit_allocate_array': qubit arrays are not supported",
        ),
        (
            "  %e = call ptr @__quantum__rt__array_get_element_ptr_1d(ptr null, i64 0)",
            "'__quantum__rt__array_get_element_ptr_1d': qubit arrays are not supported",
        ),
        (
            "  call void @__quantum__rt__qubit_release_array(ptr null)",
            "'__quantum__rt__qubit_release_array': qubit arrays are not supported",
        ),
        (
            "  call void @__quantum__rt__message(ptr @a)",
            "unsupported QIR function '__quantum__rt__message'",
        ),
    ],
)
def test_misused_qubits_are_compile_errors_naming_the_cause(body: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        dialect_program(body)
