"""QIR as toolchains other than pytket-qir write it (qat, Q#, CUDA-Q, pyqir's older examples):
the start/end output markers and the results measurements return. Dynamic qubits have their own
file (``test_frontend_qir_dynamic_qubits.py``).

Each dialect is checked against the same program written in the form pytket-qir writes (static
qubits and results, QIR 1.0 output recording): both run on the state-vector engine with one seed
and must give the same shots.
"""

from __future__ import annotations

import pytest

from qstation.errors import CompileError
from qstation.frontends.qir import compile_qir
from tests.unit.qir_dialects import allocate, dialect_program, release, same_shots
from tests.unit.test_frontend_qir import ENGINE, Q, base64_bitcode, from_body

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


_QUBIT_1, _RESULT_1 = "%Qubit* inttoptr (i64 1 to %Qubit*)", "%Result* inttoptr (i64 1 to %Result*)"


def qat_module(body: str) -> str:
    """A module as qat writes it (typed pointers, ``i8*`` labels from ``getelementptr``), with
    ``body`` before the output recording of results 0 and 1 as ``0_t0`` and ``0_t1``."""
    labels = "".join(
        f'@{index} = internal constant [5 x i8] c"0_t{index}\\00"\n' for index in (0, 1)
    )
    label = "i8* getelementptr inbounds ([5 x i8], [5 x i8]* @{}, i32 0, i32 0)".format
    attributes = '"entry_point" "qir_profiles"="custom" "required_num_results"="2"'
    return f"""%Qubit = type opaque
%Result = type opaque
{labels}
define void @Quantinuum__EntangledState() #0 {{
entry:
{body}
  call void @__quantum__rt__tuple_start_record_output()
  call void @__quantum__rt__result_record_output(%Result* null, {label(0)})
  call void @__quantum__rt__result_record_output({_RESULT_1}, {label(1)})
  call void @__quantum__rt__tuple_end_record_output()
  ret void
}}

declare %Qubit* @__quantum__rt__qubit_allocate()
declare void @__quantum__rt__qubit_release(%Qubit*)
declare void @__quantum__qis__h__body(%Qubit*)
declare void @__quantum__qis__cnot__body(%Qubit*, %Qubit*)
declare void @__quantum__qis__mz__body(%Qubit*, %Result*)
declare void @__quantum__rt__tuple_start_record_output()
declare void @__quantum__rt__result_record_output(%Result*, i8*)
declare void @__quantum__rt__tuple_end_record_output()

attributes #0 = {{ {attributes} }}
"""


def test_a_program_as_qat_writes_it_runs_as_its_static_form() -> None:
    dynamic = qat_module(f"""
  %q0 = call %Qubit* @__quantum__rt__qubit_allocate()
  %q1 = call %Qubit* @__quantum__rt__qubit_allocate()
  call void @__quantum__qis__h__body(%Qubit* %q0)
  call void @__quantum__qis__cnot__body(%Qubit* %q0, %Qubit* %q1)
  call void @__quantum__qis__mz__body(%Qubit* %q0, %Result* null)
  call void @__quantum__qis__mz__body(%Qubit* %q1, {_RESULT_1})
  call void @__quantum__rt__qubit_release(%Qubit* %q0)
  call void @__quantum__rt__qubit_release(%Qubit* %q1)""")
    static = qat_module(f"""
  call void @__quantum__qis__h__body(%Qubit* null)
  call void @__quantum__qis__cnot__body(%Qubit* null, {_QUBIT_1})
  call void @__quantum__qis__mz__body(%Qubit* null, %Result* null)
  call void @__quantum__qis__mz__body({_QUBIT_1}, {_RESULT_1})""")

    program = compile_qir(base64_bitcode(dynamic))
    assert list(program.outputs()) == ["0_t0", "0_t1"]
    same_shots(program, compile_qir(base64_bitcode(static)))


def test_the_older_entry_point_attributes_are_read_as_the_qir_1_ones() -> None:
    """As Q#'s full profile and CUDA-Q (for H-Series machines) mark their entry points."""
    legacy = '"EntryPoint" "requiredQubits"="3" "requiredResults"="1"'

    assert dialect_program(f"  call void @__quantum__qis__x__body({Q[0]})", legacy).n_qubits == 3
    with pytest.raises(CompileError, match="result 1 is out of range: the entry point declares 1"):
        dialect_program(f"  call void @__quantum__qis__mz__body({Q[0]}, {Q[1]})", legacy)


# --- results that measurements return ----------------------------------------------------------


def test_a_program_as_q_sharp_writes_it_runs_as_its_static_form() -> None:
    """Allocated qubits, ``m`` results compared with ``result_get_one``, reference counts."""
    dynamic = dialect_program(
        f"""{allocate("q", "a")}
  call void @__quantum__qis__h__body(ptr %q)
  %r = call ptr @__quantum__qis__m__body(ptr %q)
  %one = call ptr @__quantum__rt__result_get_one()
  %is_one = call i1 @__quantum__rt__result_equal(ptr %r, ptr %one)
  call void @__quantum__rt__result_update_reference_count(ptr %one, i32 -1)
  br i1 %is_one, label %then, label %continue
then:
  call void @__quantum__qis__x__body(ptr %a)
  br label %continue
continue:
  %s = call ptr @__quantum__qis__m__body(ptr %a)
  call void @__quantum__qis__reset__body(ptr %q)
  call void @__quantum__qis__reset__body(ptr %a){release("q", "a")}
  call void @__quantum__rt__tuple_start_record_output()
  call void @__quantum__rt__result_record_output(ptr %r, ptr @a)
  call void @__quantum__rt__result_record_output(ptr %s, ptr @b)
  call void @__quantum__rt__tuple_end_record_output()
  call void @__quantum__rt__result_update_reference_count(ptr %r, i32 -1)
  call void @__quantum__rt__qubit_update_reference_count(ptr %a, i32 -1)""",
        '"entry_point"',
    )
    static = from_body(f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[0]})
  %is_one = call i1 @__quantum__qis__read_result__body({Q[0]})
  br i1 %is_one, label %then, label %continue
then:
  call void @__quantum__qis__x__body({Q[1]})
  br label %continue
continue:
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  call void @__quantum__qis__reset__body({Q[0]})
  call void @__quantum__qis__reset__body({Q[1]})
  call void @__quantum__rt__tuple_record_output(i64 2, ptr null)
  call void @__quantum__rt__result_record_output({Q[0]}, ptr @a)
  call void @__quantum__rt__result_record_output({Q[1]}, ptr @b)""")

    assert dynamic.n_qubits == 2
    same_shots(dynamic, static)


def test_every_m_call_measures_into_a_fresh_slot_that_any_result_operand_may_name() -> None:
    returned = dialect_program(f"""
  call void @__quantum__qis__h__body({Q[0]})
  %first = call ptr @__quantum__qis__m__body({Q[0]})
  call void @__quantum__qis__h__body({Q[0]})
  %second = call ptr @__quantum__qis__m__body({Q[0]})
  call void @__quantum__qis__mz__body({Q[1]}, ptr %second)
  %bit = call i1 @__quantum__qis__read_result__body(ptr %first)
  call void @__quantum__rt__bool_record_output(i1 %bit, ptr @a)
  call void @__quantum__rt__result_record_output(ptr %second, ptr @b)""")
    static = from_body(f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[0]})
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__mz__body({Q[0]}, {Q[1]})
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  %bit = call i1 @__quantum__qis__read_result__body({Q[0]})
  call void @__quantum__rt__bool_record_output(i1 %bit, ptr @a)
  call void @__quantum__rt__result_record_output({Q[1]}, ptr @b)""")

    assert set(returned.temporaries) == {"result(%first)", "result(%second)", "%bit"}
    same_shots(returned, static)


def test_the_constant_results_read_as_one_and_zero() -> None:
    program = dialect_program(f"""
  call void @__quantum__qis__x__body({Q[0]})
  %r = call ptr @__quantum__qis__m__body({Q[0]})
  %one = call ptr @__quantum__rt__result_get_one()
  %zero = call ptr @__quantum__rt__result_get_zero()
  %is_one = call i1 @__quantum__qis__read_result__body(ptr %one)
  %is_zero = call i1 @__quantum__rt__result_equal(ptr %r, ptr %zero)
  call void @__quantum__rt__bool_record_output(i1 %is_one, ptr @a)
  call void @__quantum__rt__bool_record_output(i1 %is_zero, ptr @b)
  call void @__quantum__rt__result_record_output(ptr %zero, ptr @c)""")

    assert ENGINE.run(program, 5, seed=1) == {"a": ["1"] * 5, "b": ["0"] * 5, "c": ["0"] * 5}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  %one = call ptr @__quantum__rt__result_get_one()\n"
            f"  call void @__quantum__qis__mz__body({Q[0]}, ptr %one)",
            r"%one is a constant result \(result_get_one or result_get_zero\): nothing may write",
        ),
        (
            f"  %r = call ptr (ptr, ptr) @__quantum__qis__m__body({Q[0]}, {Q[1]})",
            "'__quantum__qis__m__body' takes 1 arguments, not 2",
        ),
        (
            "  %e = call i1 @__quantum__rt__result_equal(ptr @a, ptr null)",
            "result must be a static result id",
        ),
    ],
)
def test_misused_results_are_compile_errors_naming_the_cause(body: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        dialect_program(body)
