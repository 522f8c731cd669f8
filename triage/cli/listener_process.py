"""One listener process of ``serve``/``listener`` when ``listener_processes`` > 1.

Started by ``dicom_listener.pool.ListenerPool`` as ``python -m triage.cli.listener_process
CHANNEL_FD PARENT_PID``, never by hand. The parent has bound the port, migrated the
database and checked the settings; this process builds its own engine, ingest (with
its own group commit; on SQLite the writers of all processes take turns on the write
lock) and spool folder, serves the connections the parent hands over and exits when
told:
status 0 when every association finished, 3 when some had to be aborted, 1 when it
could not start (the parent is told why first).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence

from dicom_listener.handoff import Channel
from dicom_listener.pool_member import Member, Orders, die_with_parent, join_pool, member_arguments
from dicom_listener.server import Listener
from triage.cli.context import configure_logging
from triage.db.engine import make_engine
from triage.ingest.service import Ingestor
from triage.settings import Settings

EXIT_ABORTED = 3


def main(argv: Sequence[str] | None = None) -> int:
    fd, parent = member_arguments(sys.argv[1:] if argv is None else argv)
    die_with_parent(parent)
    channel = Channel.from_fd(fd)
    start = join_pool(channel)
    settings = Settings.model_validate(start.settings)
    _configure_logging(settings.log_level)
    orders = Orders()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, orders.on_signal)

    engine = None
    try:
        engine = make_engine(settings)
        listener = Listener(settings, Ingestor(settings=settings, engine=engine))
        listener.start_handed_over(start.address)
    except Exception as exc:
        channel.send("error", {"message": _reason(exc)})
        if engine is not None:
            engine.dispose()
        return 1
    Member(listener, channel, orders).start()
    channel.send("ready", {"pid": os.getpid()})
    orders.stop.wait()
    clean = listener.stop(orders.grace, hurry=orders.hurry)
    engine.dispose()
    return 0 if clean else EXIT_ABORTED


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return f"{type(exc).__name__}: {exc}"


def _configure_logging(level: str) -> None:
    configure_logging(level)
    # The lines of a listener process say which one wrote them.
    tag = f"[listener {os.getpid()}]"
    for handler in logging.getLogger().handlers:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-7s %(name)s {tag}: %(message)s")
        )


if __name__ == "__main__":
    sys.exit(main())
