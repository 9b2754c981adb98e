"""Reference for assign_bench: Google OR-Tools' SimpleMinCostFlow on the flow network the
Rust example wrote (raw little-endian int64 arrays in DIR: supplies, tails, heads,
capacities, costs). Prints the optimal cost and the seconds to load and to solve.

    python ortools_mcf.py DIR
"""

import sys
import time
from pathlib import Path

import numpy as np
from ortools.graph.python import min_cost_flow


def main() -> None:
    root = Path(sys.argv[1])
    started = time.perf_counter()
    read = lambda name: np.fromfile(root / f"{name}.i64", dtype="<i8")
    supplies, tails, heads = read("supplies"), read("tails"), read("heads")
    capacities, costs = read("capacities"), read("costs")
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    loaded = time.perf_counter()
    status = flow.solve()
    solved = time.perf_counter()
    if status != flow.OPTIMAL:
        sys.exit(f"OR-Tools status {status}")
    print(
        f"cost={flow.optimal_cost()} solve_seconds={solved - loaded:.4f} "
        f"total_seconds={solved - started:.4f} arcs={len(tails)} nodes={len(supplies)}"
    )


if __name__ == "__main__":
    main()
