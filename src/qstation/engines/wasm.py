"""The job's WebAssembly module (``cfl``): compiled once per job, a fresh instance per shot.

As on the machine, the module's ``init`` runs once at the start of every shot that calls it,
its state (globals, memory) persists from call to call within a shot and never reaches the next
shot. Arguments and results are integers: a register's word goes in as the function's i32 or
i64 parameter (two's complement), and a result is truncated to the register it is written to.

The runtime is wasmtime. Each shot gets a fuel budget, so a runaway loop ends the job with a
message instead of holding the worker, and memories are not reserved up front, so instances fit
the execution's address-space limit.
"""

from __future__ import annotations

import base64
import binascii

import wasmtime

from qstation.circuit.program import CallWasm
from qstation.errors import CompileError, ExecutionError
from qstation.sizes import describe_bytes

FUEL_PER_SHOT = 1_000_000_000
"""WASM instructions one shot may run in all its calls (about a second of work)."""
MEMORY_PER_SHOT = 64 * 2**20
"""Linear memory one shot's instance may grow to."""
TABLE_ELEMENTS_PER_SHOT = 100_000
"""Table entries one shot's instance may grow to (each costs address space too)."""
INIT_FUNCTION = "init"

_INTEGER_BITS = {"i32": 32, "i64": 64}


class WasmModule:
    """A validated module and the signatures of its exported functions."""

    def __init__(self, encoded: str) -> None:
        try:
            binary = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise CompileError("the WASM module (cfl) is not valid base64") from None
        config = wasmtime.Config()
        config.consume_fuel = True
        config.memory_reservation = 0  # grow memories on demand, inside RLIMIT_AS
        config.memory_guard_size = 0
        config.memory_reservation_for_growth = 0
        # No compilation thread pool: a pool left behind in a process that later forks (a test
        # run, a worker) hangs the child's next compilation.
        config.parallel_compilation = False
        self.engine = wasmtime.Engine(config)
        try:
            self.module = wasmtime.Module(self.engine, binary)
        except wasmtime.WasmtimeError as error:
            raise CompileError(f"the WASM module (cfl) is invalid: {_first_line(error)}") from None
        if self.module.imports:
            names = ", ".join(f"{i.module}.{i.name}" for i in self.module.imports)
            raise CompileError(f"the WASM module (cfl) imports {names}; it must be self-contained")
        self.functions = {
            export.name: export.type
            for export in self.module.exports
            if isinstance(export.type, wasmtime.FuncType)
        }
        self.parameter_bits: dict[str, list[int]] = {}
        """Integer widths of each checked function's parameters."""
        init = self.functions.get(INIT_FUNCTION)
        if init is not None and init.params:
            raise CompileError(f"the WASM module's {INIT_FUNCTION} must take no arguments")

    def check(self, call: CallWasm) -> None:
        """Refuse a call the module cannot serve, before any shot runs."""
        signature = self.functions.get(call.function)
        if signature is None:
            raise CompileError(f"WASM function {call.function!r} is not exported by the module")
        params = _integer_bits(call.function, signature.params)
        results = _integer_bits(call.function, signature.results)
        self.parameter_bits[call.function] = params
        if len(params) != len(call.arguments):
            raise CompileError(
                f"WASM function {call.function!r} takes {len(params)} arguments, "
                f"called with {len(call.arguments)}"
            )
        if len(call.results) > len(results):
            raise CompileError(
                f"WASM function {call.function!r} returns {len(results)} values, "
                f"{len(call.results)} registers expect one each"
            )

    def new_shot(self, shot_number: int) -> WasmShot:
        return WasmShot(self, shot_number)


class WasmShot:
    """One shot's instance: created on the shot's first call, ``init`` run once."""

    def __init__(self, module: WasmModule, shot_number: int) -> None:
        self.module = module
        self.shot_number = shot_number
        self.store = wasmtime.Store(module.engine)
        self.store.set_fuel(FUEL_PER_SHOT)
        self.store.set_limits(memory_size=MEMORY_PER_SHOT, table_elements=TABLE_ELEMENTS_PER_SHOT)
        try:
            self.instance = wasmtime.Instance(self.store, module.module, [])
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise self._failure("instantiating the module", error) from None
        if INIT_FUNCTION in module.functions:
            self.call(INIT_FUNCTION, [])

    def call(self, function: str, arguments: list[int]) -> list[int]:
        """Call ``function`` with register words; its results as unsigned 64-bit words."""
        params = self.module.parameter_bits.get(function, [])
        values = [_signed(value, bits) for value, bits in zip(arguments, params, strict=True)]
        exported = self.instance.exports(self.store)[function]
        assert isinstance(exported, wasmtime.Func)
        try:
            returned = exported(self.store, *values)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            raise self._failure(f"WASM function {function!r}", error) from None
        if returned is None:
            return []
        listed = returned if isinstance(returned, list) else [returned]
        return [int(value) & ((1 << 64) - 1) for value in listed]

    def _failure(self, what: str, error: Exception) -> ExecutionError:
        cause = _first_line(error)
        if self.store.get_fuel() == 0:
            cause = f"ran out of fuel ({FUEL_PER_SHOT:,} instructions per shot)"
        elif "memory" in cause and "limit" in cause:
            cause += f" (limit {describe_bytes(MEMORY_PER_SHOT)} per shot)"
        return ExecutionError(f"{what} failed in shot {self.shot_number}: {cause}")


def _integer_bits(function: str, types: list[wasmtime.ValType]) -> list[int]:
    bits = [_INTEGER_BITS.get(str(value_type)) for value_type in types]
    if None in bits:
        raise CompileError(
            f"WASM function {function!r} uses {[str(t) for t in types]}; "
            "only i32 and i64 arguments and results are supported"
        )
    return [bit for bit in bits if bit is not None]


def _signed(word: int, bits: int) -> int:
    value = word & ((1 << bits) - 1)
    return value - (1 << bits) if value >> (bits - 1) else value


def _first_line(error: Exception) -> str:
    """The cause in wasmtime's message: the line after "Caused by:" when it has one."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if "Caused by:" in lines[:-1]:
        return lines[lines.index("Caused by:") + 1]
    return lines[0] if lines else type(error).__name__
