"""Synthetic identities for the demo: obviously fake patients, and the rooms and devices
of an imaginary ultrasound department. Nothing here names a real person."""

from __future__ import annotations

from dataclasses import dataclass

INSTITUTION = "Demo General Hospital"
# Family names that no one has, so no demo record is ever mistaken for a patient's.
FAMILY_NAMES: tuple[str, ...] = (
    "Sampleton",
    "Fakeworth",
    "Testwood",
    "Mockridge",
    "Dummerfield",
    "Placeholder",
    "Notreal",
    "Synthwell",
    "Examplar",
    "Pretendi",
    "Fauxley",
    "Simulova",
)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("Ada", "F"),
    ("Bruno", "M"),
    ("Clara", "F"),
    ("Dev", "M"),
    ("Edith", "F"),
    ("Felix", "M"),
    ("Grete", "F"),
    ("Hugo", "M"),
    ("Ines", "F"),
    ("Jonas", "M"),
    ("Kaya", "F"),
    ("Luca", "M"),
)
REFERRERS: tuple[str, ...] = (
    "Demo^Emergency^^Dr",
    "Demo^Orthopaedics^^Dr",
    "Demo^General Practice^^Dr",
    "Demo^Internal Medicine^^Dr",
)
READERS: tuple[str, ...] = ("Reader^Demo^^Dr", "Radiologist^Sample^^Dr")


@dataclass(frozen=True, slots=True)
class Scanner:
    station: str
    manufacturer: str
    model: str


SCANNERS: tuple[Scanner, ...] = (
    Scanner("US-ROOM1", "GE Healthcare", "LOGIQ E10"),
    Scanner("US-ROOM2", "Philips", "EPIQ 7G"),
    Scanner("US-ED", "SIEMENS", "ACUSON Sequoia"),
    Scanner("US-PORTABLE", "Canon Medical Systems", "Aplio i800"),
)
