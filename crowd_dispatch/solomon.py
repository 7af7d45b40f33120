"""Solomon VRPTW instances (the classic C1/C2/R1/R2/RC1/RC2 benchmark) as routing inputs.

Convention: Euclidean distances in double precision (no rounding or truncation), travel time =
distance, all vehicles start and end at the depot (customer 0) within its window, capacity from
the header. That is the convention of the best-known values in ``BKS.json`` (C101: 828.94; with
the exact methods' one-decimal truncation its optimum would be 827.3), so costs compare with them
rounded to 2 decimals. Best-known values to compare with are the distance-only ones
(``bks_cost_distance_only``).
"""

import json
from pathlib import Path

from .errors import InvalidInput
from .routing import Technician, Visit


def read_instance(path, fleet=None):
    """Return (name, visits, technicians) of a Solomon file; ``fleet`` overrides the vehicle count."""
    path = Path(path)
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    name = lines[0][0]
    try:
        header = next(i for i, row in enumerate(lines) if row[:2] == ["NUMBER", "CAPACITY"])
        vehicles, capacity = int(lines[header + 1][0]), float(lines[header + 1][1])
        first = next(i for i, row in enumerate(lines) if row and row[0] == "CUST") + 1
        rows = [[float(v) for v in row] for row in lines[first:] if len(row) == 7]
    except (StopIteration, ValueError, IndexError) as exc:
        raise InvalidInput(str(path), f"not a Solomon instance: {exc}") from None
    depot = rows[0]
    visits = [Visit(id=int(r[0]), x=r[1], y=r[2], demand=r[3], window=(r[4], r[5]), service_min=r[6]) for r in rows[1:]]
    technicians = [
        Technician(id=k, x=depot[1], y=depot[2], shift=(depot[4], depot[5]), capacity=capacity)
        for k in range(fleet or vehicles)
    ]
    return name, visits, technicians


def best_known(data_dir, name):
    """Best-known distance-only cost and its vehicle count for instance ``name`` (None if unknown)."""
    bks_file = Path(data_dir) / "BKS.json"
    if not bks_file.exists():
        return None
    entry = json.loads(bks_file.read_text()).get(name)
    if not entry:
        return None
    return entry["bks_cost_distance_only"], entry.get("bks_distance_only_vehicles")
