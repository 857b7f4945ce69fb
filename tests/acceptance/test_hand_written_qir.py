"""QIR written by hand, not by pytket: standard gates, record labels, two entry points.

Submitted with the client's own ``submit_program`` (the way such programs reach the service)
and read back both through that handle and through a handle made from the job ID alone.
"""

from __future__ import annotations

from base64 import b64encode

import pyqir
import pytest
from pytket.backends.backend import ResultHandle
from pytket.backends.status import StatusEnum
from pytket.circuit import Bit
from pytket.extensions.quantinuum import Language, QuantinuumBackend

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

SHOTS = 50

BELL_THEN_FLIP = """
@bell0 = internal constant [5 x i8] c"0_t0\\00"
@bell1 = internal constant [5 x i8] c"0_t1\\00"
@flipped = internal constant [5 x i8] c"1_t0\\00"

define void @bell() #0 {
entry:
  call void @__quantum__qis__h__body(ptr null)
  call void @__quantum__qis__cnot__body(ptr null, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__rt__tuple_record_output(i64 2, ptr null)
  call void @__quantum__rt__result_record_output(ptr null, ptr @bell0)
  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @bell1)
  ret void
}

define void @flip() #0 {
entry:
  call void @__quantum__qis__x__body(ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__rt__result_record_output(ptr null, ptr @flipped)
  ret void
}

declare void @__quantum__qis__h__body(ptr)
declare void @__quantum__qis__x__body(ptr)
declare void @__quantum__qis__cnot__body(ptr, ptr)
declare void @__quantum__qis__mz__body(ptr, ptr) #1
declare void @__quantum__rt__tuple_record_output(i64, ptr)
declare void @__quantum__rt__result_record_output(ptr, ptr)

attributes #0 = { "entry_point" "qir_profiles"="base_profile" "output_labeling_schema"="labeled"
                  "required_num_qubits"="2" "required_num_results"="2" }
attributes #1 = { "irreversible" }
"""


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H2-1E")


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
def test_two_entry_points_with_record_labels_return_the_labelled_registers(
    emulator: QuantinuumBackend,
) -> None:
    bitcode = pyqir.Module.from_ir(pyqir.Context(), BELL_THEN_FLIP).bitcode
    handle = emulator.submit_program(
        Language.QIR, b64encode(bitcode).decode(), n_shots=SHOTS, noisy_simulation=False
    )
    assert wait_until_done(emulator, handle) == StatusEnum.COMPLETED

    for read_back in (handle, ResultHandle(handle[0], "null", -1, "null")):
        result = emulator.get_result(read_back)
        assert set(result.c_bits) == {Bit("0_t0", 0), Bit("0_t1", 0), Bit("1_t0", 0)}
        bell0, bell1, flip = (
            [int(row[0]) for row in result.get_shots(cbits=[Bit(label, 0)])]
            for label in ("0_t0", "0_t1", "1_t0")
        )
        assert bell0 == bell1  # the Bell pair is correlated in every shot
        assert 0 < sum(bell0) < SHOTS
        assert flip == [1] * SHOTS  # @flip starts from a fresh qubit 0, whatever @bell left
