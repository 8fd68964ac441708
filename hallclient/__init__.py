"""hallclient: the one Socket.IO link to a Hall Queue hub, shared by its Python clients.

Both ``display/`` (the pygame hall screen, ``hall-display``) and ``counter_client/`` (the
keypad counter client, ``hall-counter``) follow the hub through this package instead of
keeping their own copies. A :class:`Link`, in its own daemon thread:

- connects with exponential backoff and jitter (:class:`Backoff`), alternating the
  websocket transport with polling in case a proxy blocks websockets;
- tightens TCP keepalive on the websocket (:class:`Keepalive`), so a silent hub (a pulled
  cable, a dead switch) is noticed in seconds rather than when the hub's 5 s pings stop
  for the 15 s the client waits;
- joins one room (``display``, ``counter:N``…) with an optional device token and reads the
  join's ack: a refusal the settings must cure is final, any other failure is retried;
- dispatches events in arrival order (:class:`OrderedClient`), drops pushes older than the
  connection's snapshot (:class:`SeqGuard`) and starts afresh on every reconnect, where the
  hub's new snapshot is the truth;
- reports through callbacks (``on_event``, ``on_online``, ``on_lost``, ``on_refused``) that
  run in the link's threads and must not block (the clients put into a queue);
- closes cleanly and in bounded time (``stop``).

``display.network.HubLink`` and ``counter_client.live.LiveLink`` are thin adapters that
turn these callbacks into each client's inbox messages.
"""

from .backoff import Backoff
from .link import FINAL_REFUSALS, JoinRefused, Link, SeqGuard
from .wire import TRANSPORTS, Keepalive, OrderedClient, OrderedEngineIOClient

__all__ = ["FINAL_REFUSALS", "TRANSPORTS", "Backoff", "JoinRefused", "Keepalive", "Link", "OrderedClient",
           "OrderedEngineIOClient", "SeqGuard"]
