"""Random circuits with classical logic give the same shots in QASM, QIR and adaptive QIR.

Each circuit keeps qubits in basis states, so every shot is determined, and an oracle written
for the tests (``tests/oracle.py``) computes it straight from the pytket commands.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytket.circuit import Bit, Circuit
from pytket.circuit.logic_exp import reg_eq, reg_gt, reg_lt
from pytket.extensions.quantinuum import Language, QuantinuumBackend

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess
from tests.oracle import BasisStateOracle

LANGUAGES = (Language.QASM, Language.QIR, Language.PQIR)
SHOTS = 2


@st.composite
def classical_circuits(draw: st.DrawFn) -> Circuit:
    n_qubits = draw(st.integers(2, 4))
    circuit = Circuit(n_qubits)
    a = circuit.add_c_register("a", 3)
    b = circuit.add_c_register("b", 2)
    m = circuit.add_c_register("m", n_qubits)
    # Register conditions test k, which is settled before any condition reads it: pytket's QASM
    # writer folds a register condition into `if (reg == v)` where the conditional stands, which
    # is wrong when the DAG put a write of that register in between (see docs/protocol.md).
    k = circuit.add_c_register("k", 3)
    circuit.add_c_setbits([draw(st.booleans()) for _ in range(3)], list(k))
    qubit = st.integers(0, n_qubits - 1)
    any_bit = st.sampled_from([*a, *b, *m])
    for _ in range(draw(st.integers(1, 14))):
        step = draw(st.integers(0, 11))
        q = draw(qubit)
        if step == 0:
            circuit.PhasedX(1.0, draw(st.sampled_from([0.0, 0.5])), q)
        elif step == 1:
            circuit.Rz(0.25, q)
            circuit.ZZPhase(0.5, q, (q + 1) % n_qubits)
        elif step == 2:
            circuit.Measure(q, m[draw(st.integers(0, n_qubits - 1))])
        elif step == 3:
            circuit.Reset(q)
        elif step == 4:
            circuit.PhasedX(
                1.0, 0.0, q, condition_bits=[draw(any_bit)], condition_value=draw(st.integers(0, 1))
            )
        elif step == 5:
            test = draw(st.sampled_from([reg_eq, reg_lt, reg_gt]))
            value = draw(st.integers(1 if test is reg_lt else 0, 7))  # pytket: a < 0 is invalid
            circuit.PhasedX(1.0, 0.0, q, condition=test(k, value))
        elif step == 6:
            circuit.add_c_setbits([draw(st.booleans()) for _ in range(3)], list(a))
        elif step == 7:
            circuit.add_c_copybits(
                [draw(st.sampled_from(list(m)))], [draw(st.sampled_from([*a, *b]))]
            )
        elif step == 8:
            expression = draw(st.sampled_from([a ^ b, a | b, a & b, a + b]))
            circuit.add_clexpr_from_logicexp(expression, list(a))
        elif step == 9:
            bound = draw(st.integers(1, 7))  # pytket cannot read back a >= 0 (always true)
            target = draw(st.sampled_from(list(m)))
            if draw(st.booleans()):
                circuit.add_c_range_predicate(0, bound, list(a), target)
            else:
                circuit.add_c_range_predicate(bound, 2**64 - 1, list(a), target)
        elif step == 10:
            circuit.Reset(q, condition_bits=[draw(any_bit)], condition_value=1)
        else:
            circuit.add_c_setbits(
                [True], [draw(any_bit)], condition=reg_eq(b, draw(st.integers(0, 3)))
            )
    for q in range(n_qubits):
        circuit.Measure(q, m[q])
    return circuit


USER_REGISTERS = ("a", "b", "m", "k")  # pytket's scratch bits are its own business, not results


def expected_shot(circuit: Circuit, selection: list[tuple[str, int]]) -> list[int]:
    bits = BasisStateOracle(circuit).run()
    return [bits[Bit(name, index)] for name, index in selection]


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H1-1E")


@settings(
    max_examples=300,
    derandomize=True,  # the same 300 circuits in every run: CI stays deterministic
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(circuit=classical_circuits())
def test_every_form_gives_the_oracles_shots(emulator: QuantinuumBackend, circuit: Circuit) -> None:
    handles = {
        language: emulator.process_circuit(
            circuit, n_shots=SHOTS, options={"seed": 5}, noisy_simulation=False, language=language
        )
        for language in LANGUAGES
    }
    for language, handle in handles.items():
        wait_until_done(emulator, handle)
        selection = [(name, index) for name, index in json.loads(handle[3])]
        columns = [i for i, (name, _) in enumerate(selection) if name in USER_REGISTERS]
        expected = [expected_shot(circuit, selection)[i] for i in columns]
        shots = emulator.get_result(handle).get_shots()[:, columns]
        assert np.array_equal(shots, np.array([expected] * SHOTS)), (
            language,
            circuit.get_commands(),
        )
