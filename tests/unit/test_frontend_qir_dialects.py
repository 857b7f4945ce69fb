"""QIR as toolchains other than pytket-qir write it (qat, Q#, CUDA-Q, pyqir's older examples).

Each dialect is checked against the same program written in the form pytket-qir writes (static
qubits and results, QIR 1.0 output recording): both run on the state-vector engine with one seed
and must give the same shots.
"""

from __future__ import annotations

import pytest

from qstation.circuit.program import Gate, Program, Reset, unconditioned
from qstation.devices.catalogue import DeviceCatalogue
from qstation.devices.validation import check_program_fits
from qstation.errors import CompileError
from qstation.frontends.qir import compile_qir
from tests.unit.test_frontend_qir import ENGINE, Q, base64_bitcode, from_body

_DIALECT_DECLARATIONS = """
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
_DYNAMIC = '"entry_point" "required_num_results"="3"'  # no qubit count: the program allocates


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


# --- dynamic qubits --------------------------------------------------------------------------


def allocate(*names: str) -> str:
    return "".join(f"\n  %{name} = call ptr @__quantum__rt__qubit_allocate()" for name in names)


def release(*names: str) -> str:
    return "".join(f"\n  call void @__quantum__rt__qubit_release(ptr %{name})" for name in names)


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
        _DYNAMIC,
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
        _DYNAMIC,
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
        _DYNAMIC,
    )

    assert program.n_qubits == 2  # in the shots that skip the release, %q is still held
    assert program.operations[-1] == Gate("X", (1,))  # a new qubit: nothing to reset
    assert not any(isinstance(unconditioned(op), Reset) for op in program.operations)


def test_qir_2_allocation_with_a_null_out_err_is_the_same_allocation() -> None:
    program = dialect_program(
        "  %q = call ptr (ptr) @__quantum__rt__qubit_allocate(ptr null)\n"
        "  call void @__quantum__qis__x__body(ptr %q)",
        _DYNAMIC,
    )

    assert program.operations == (Gate("X", (0,)),)


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


H1_1E = DeviceCatalogue.load().get("H1-1E")


def test_the_qubit_count_checked_against_the_device_is_the_peak_allocated_at_once() -> None:
    def layer(names: list[str]) -> str:
        gates = "".join(f"\n  call void @__quantum__qis__x__body(ptr %{name})" for name in names)
        return allocate(*names) + gates

    first, second = ([f"{name}{index}" for index in range(H1_1E.n_qubits)] for name in "qr")
    twice = dialect_program(layer(first) + release(*first) + layer(second), _DYNAMIC)
    one_more = dialect_program(layer([*first, "extra"]), _DYNAMIC)

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
