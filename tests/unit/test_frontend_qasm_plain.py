"""Plain programs read without pytket's grammar give exactly the circuit pytket's reader gives;
anything else is left to pytket's reader."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pytket.circuit import Circuit
from pytket.qasm import circuit_from_qasm_str

from qstation.frontends.qasm.plain import plain_circuit

HEADER = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\n'
ANGLES = st.sampled_from(["pi", "-pi", "0.5*pi", "-0.25*pi", "1e-05*pi", "3*pi", "0.0713*pi"])


def described(circuit: Circuit) -> tuple[object, ...]:
    commands = [
        (str(c.op.type), [float(p) for p in c.op.params], [str(a) for a in c.args])
        for c in circuit.get_commands()
    ]
    return (
        [str(q) for q in circuit.qubits], [str(b) for b in circuit.bits],
        [(r.name, r.size) for r in circuit.q_registers],
        [(r.name, r.size) for r in circuit.c_registers], commands,
    )  # fmt: skip


@st.composite
def plain_programs(draw: st.DrawFn) -> str:
    qregs = {"q": draw(st.integers(2, 5)), "anc": draw(st.integers(1, 3))}
    cregs = {"c": draw(st.integers(1, 5)), "m": draw(st.integers(1, 3))}
    lines = [f"qreg {name}[{size}];" for name, size in qregs.items()]
    lines += [f"creg {name}[{size}];" for name, size in cregs.items()]
    qubits = [f"{name}[{i}]" for name, size in qregs.items() for i in range(size)]
    bits = [f"{name}[{i}]" for name, size in cregs.items() for i in range(size)]
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["U1q", "rz", "Rz", "RZZ", "ZZ", "measure", "reset"]))
        if kind == "U1q":
            lines.append(f"U1q({draw(ANGLES)},{draw(ANGLES)}) {draw(st.sampled_from(qubits))};")
        elif kind in ("rz", "Rz"):
            lines.append(f"{kind}({draw(ANGLES)}) {draw(st.sampled_from(qubits))};")
        elif kind in ("RZZ", "ZZ"):
            a, b = draw(st.lists(st.sampled_from(qubits), min_size=2, max_size=2, unique=True))
            angle = f"({draw(ANGLES)})" if kind == "RZZ" else ""
            lines.append(f"{kind}{angle} {a},{b};")
        elif kind == "measure":
            lines.append(
                f"measure {draw(st.sampled_from(qubits))} -> {draw(st.sampled_from(bits))};"
            )
        else:
            lines.append(f"reset {draw(st.sampled_from(qubits))};")
    return HEADER + "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None)
@given(plain_programs())
def test_a_plain_program_gives_the_circuit_pytkets_reader_gives(text: str) -> None:
    plain = plain_circuit(text)
    assert plain is not None
    assert described(plain) == described(circuit_from_qasm_str(text))


def test_anything_else_is_left_to_pytkets_reader() -> None:
    declined = [
        "qreg q[2];\ncreg c[2];\nh q[0];\n",  # not a native gate
        "qreg q[2];\ncreg c[2];\nU1q(0.5,0.1*pi) q[0];\n",  # an angle not a multiple of pi
        "qreg q[2];\ncreg c[2];\nU1q(pi/2,0) q[0];\n",  # an expression
        "qreg q[2];\ncreg c[2];\nmeasure q -> c;\n",  # a broadcast
        "qreg q[2];\ncreg c[2];\nif(c==1) rz(pi) q[0];\n",  # a conditional
        "qreg q[2];\n// a comment\ncreg c[2];\n",
        "qreg q[2];\ncreg c[2];\nrz(pi) q[2];\n",  # out of range: pytket's reader says why
        "qreg q[2];\nqreg q[3];\n",
        "qreg q[2];\ncreg c[2];\nRZZ(pi) q[0],q[0];\n",
    ]
    for body in declined:
        assert plain_circuit(HEADER + body) is None, body
    assert plain_circuit('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\n') is None
