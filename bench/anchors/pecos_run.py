"""Runs one benchmark on PECOS's state-vector engine, in PECOS's own environment.

``bench/emulators.py`` starts this with the Python of ``.bench-venvs/pecos`` (PECOS and
Selene cannot share one environment with each other) and writes a JSON request to its standard
input: ``{"qasm": ..., "shots": n, "noise": {"p1", "p2", "p_meas_0", "p_meas_1"} | null}``. It
prints ``{"seconds": t}``: the engine call alone, after one warm-up shot.
"""

from __future__ import annotations

import json
import sys
import time

import pecos


def main() -> int:
    request = json.load(sys.stdin)
    builder = pecos.sim(pecos.Qasm(request["qasm"])).quantum(pecos.state_vector())
    builder = builder.seed(1).workers(1)
    noise = request["noise"]
    if noise is not None:
        # Plain depolarizing: general_noise's defaults add idling, emission and leakage.
        # Its readout flip is symmetric, so it gets the mean of the two.
        builder = builder.noise(
            pecos.depolarizing_noise()
            .with_p1_probability(noise["p1"])
            .with_p2_probability(noise["p2"])
            .with_meas_probability((noise["p_meas_0"] + noise["p_meas_1"]) / 2)
            .with_prep_probability(0.0)
        )
    simulation = builder.build()
    simulation.run(1)
    start = time.perf_counter()
    simulation.run(request["shots"])
    print(json.dumps({"seconds": time.perf_counter() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
