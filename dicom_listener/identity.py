"""Who we say we are on the wire and in the File Meta Information we write."""

from __future__ import annotations

from importlib import metadata

# A fixed UID under the 2.25 (UUID-derived) root; never changes between releases.
IMPLEMENTATION_CLASS_UID = "2.25.245801949899742103716804548939124777116"


def _version_name() -> str:
    try:
        version = metadata.version("msk-triage")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"MSKTRIAGE_{version}"[:16]  # SH: at most 16 characters


IMPLEMENTATION_VERSION_NAME = _version_name()
