"""A stock pynetdicom Storage SCP that discards what it receives: the library's ceiling.

Run as ``python -m bench.ingest.discard PORT AE_TITLE``.
"""

from __future__ import annotations

import sys

from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.events import Event

VERIFICATION = "1.2.840.10008.1.1"


def _discard(event: Event) -> int:
    return 0x0000


def main() -> None:
    port, ae_title = int(sys.argv[1]), sys.argv[2]
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = 0  # as ours: unlimited
    ae.maximum_associations = 16
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(str(cx.abstract_syntax))
    ae.add_supported_context(VERIFICATION)
    ae.start_server(("127.0.0.1", port), evt_handlers=[(evt.EVT_C_STORE, _discard)])


if __name__ == "__main__":
    main()
