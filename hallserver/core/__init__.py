"""The domain core: plain Python on a sqlite-utils Database, no Flask, no Socket.IO.

Every action takes the open transaction's ``db``, the hall configuration and ``now``
(epoch seconds), changes tickets and counters, appends to the event log, and returns
an ``Outcome``: what the caller asked for, plus the events to publish once the
transaction has committed.
"""

from . import events  # noqa: F401
from .events import Event, Outcome, current_seq  # noqa: F401
from .tickets import (  # noqa: F401
    CHANNELS,
    ascii_number,
    availability,
    call_next,
    call_number,
    calling_order,
    cancel,
    done,
    expire_before,
    find_counter,
    find_service,
    issue_remote_ticket,
    issue_ticket,
    local_day,
    no_show,
    normalise_phone,
    pause,
    recall,
    reinstate,
    resume,
    start,
    transfer,
    undo,
)
