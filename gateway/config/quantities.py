"""A point's unit must fit what its Brick class measures: PERCENT on a temperature sensor is a mistake.

Brick 1.4 declares a quantity on most point classes (brick:Temperature_Sensor measures Temperature); the
derived table ontology/brick-quantities.tsv (scripts/derive_brick_quantities.py explains the derivation)
lists the QUDT dimension vectors a unit of that quantity may have. A unit fits when its dimension
(ontology/units.tsv) is one of them; classes for which Brick declares no quantity are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway import classes, units

# Units offered as examples of the expected quantity, the first of each dimension found being shown.
_COMMON = (
    "DEG_C", "K", "DEG_F", "PA", "KiloPA", "BAR", "PERCENT", "PERCENT_RH", "UNITLESS", "PPM", "W", "KiloW",
    "KiloW-HR", "W-HR", "M3-PER-HR", "L-PER-SEC", "A", "V", "HZ", "REV-PER-MIN", "M-PER-SEC", "M", "MilliM",
    "KiloGM", "KiloGM-PER-SEC", "SEC", "HR", "LUX", "DEG", "KiloJ-PER-KiloGM", "N-M",
)  # fmt: skip


def unit_misfits(class_iris: Iterable[str], unit: str) -> list[str]:
    """One message per class of the point whose quantity the unit cannot express."""
    u = units.get_unit(unit)
    if u is None or u.dimension is None:
        return []
    out = []
    for iri in class_iris:
        q = classes.quantity(iri)
        if q is None or u.dimension in q.dimensions:
            continue
        kind = q.name if q.name.startswith("brick:") else f"quantitykind:{q.name}"
        fitting = [c for n in _COMMON if (c := units.get_unit(n)) is not None and c.dimension in q.dimensions]
        # units QUDT files under the quantity itself first (N·m before kW·h for a torque)
        examples = [c.name for c in sorted(fitting, key=lambda c: q.name not in c.quantity_kinds)]
        hint = f" such as {', '.join(examples[:3])}" if examples else ""
        out.append(
            f"unit {unit} ({u.label}) does not fit {classes.compact(iri)}, which measures {kind}: "
            f"use a unit of that quantity{hint}"
        )
    return out
