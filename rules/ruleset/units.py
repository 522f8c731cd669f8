"""UCUM units the rules can compare, with their dimension and factor to the base unit.

Only units that ultrasound reports carry are listed; a rule naming another unit is an
error at load (with the closest listed unit suggested), and a measurement in a unit of
another dimension is never compared (it becomes a candidate with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    dimension: str
    factor: float
    """Multiply a value in this unit by ``factor`` to get the dimension's base unit."""


UNITS: MappingProxyType[str, Unit] = MappingProxyType(
    {
        u.code: u
        for u in (
            Unit("um", "length", 1e-3),
            Unit("mm", "length", 1.0),
            Unit("cm", "length", 10.0),
            Unit("dm", "length", 100.0),
            Unit("m", "length", 1000.0),
            Unit("[in_i]", "length", 25.4),
            Unit("mm2", "area", 1.0),
            Unit("cm2", "area", 100.0),
            Unit("m2", "area", 1e6),
            Unit("mm3", "volume", 1e-3),
            Unit("cm3", "volume", 1.0),
            Unit("ml", "volume", 1.0),
            Unit("mL", "volume", 1.0),
            Unit("dl", "volume", 100.0),
            Unit("dL", "volume", 100.0),
            Unit("l", "volume", 1000.0),
            Unit("L", "volume", 1000.0),
            Unit("mm/s", "velocity", 0.1),
            Unit("cm/s", "velocity", 1.0),
            Unit("m/s", "velocity", 100.0),
            Unit("s", "time", 1.0),
            Unit("ms", "time", 1e-3),
            Unit("%", "ratio", 1.0),
            Unit("1", "ratio", 100.0),
        )
    }
)


def convert(value: float, from_unit: str, to_unit: str) -> float | None:
    """``value`` in ``from_unit`` expressed in ``to_unit``; None if either unit is unknown
    or they measure different things."""
    src = UNITS.get(from_unit)
    dst = UNITS.get(to_unit)
    if src is None or dst is None or src.dimension != dst.dimension:
        return None
    return value * src.factor / dst.factor
