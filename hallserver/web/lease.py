"""Which hub process runs the hall's background jobs (end of day, backups, booking upkeep
and reminders, the dashboard's refresh).

One process (no message queue): this one, always. Several processes on one database,
linked by a message queue: the one holding a lock in the same Redis, ``SET key holder PX``
taken only when free and renewed by its holder every LEASE_SECONDS / 3. A holder that dies,
freezes or loses Redis lets it lapse after LEASE_SECONDS and another process takes over.
Every job is safe to run twice (a round that was running when the lease lapsed finishes);
the lease only keeps N processes from doing the same work N times.
"""

import logging
import os
import secrets
import socket

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
KEY = "hall-queue:jobs"
# Take the lease when nobody holds it, or renew it when we do; 1 when it is ours.
TAKE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class Lease:
    """``lease.wait()`` returns once this process may run the jobs; ``keep`` renews it."""

    def __init__(self, url=None, sleep=None, seconds=LEASE_SECONDS, key=KEY):
        import time

        self.sleep = sleep or time.sleep
        self.seconds = seconds
        self.key = key
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.redis = None
        self.mine = url is None
        if url:
            import redis

            self.redis = redis.Redis.from_url(url, socket_timeout=seconds / 3)

    def renew(self):
        """Take or renew the lease; whether this process holds it now."""
        try:
            mine = bool(self.redis.eval(TAKE_OR_RENEW, 1, self.key, self.holder, int(self.seconds * 1000)))
        except Exception as error:  # Redis away: assume another process may hold it
            log.warning("job lease: %s", error)
            mine = False
        if mine != self.mine:
            log.warning("job lease %s: background jobs %s in this process (%s)", self.key,
                        "run" if mine else "stop", self.holder)
        self.mine = mine
        return mine

    def keep(self):
        """Background loop (with a message queue): renew the lease, or try to take it."""
        while True:
            self.renew()
            self.sleep(self.seconds / 3)

    def wait(self):
        """Return once this process holds the lease (at once without a message queue)."""
        while not self.mine:
            self.sleep(1.0)

    def pause(self, seconds):
        """A job's timer: sleep ``seconds``, then until this process holds the lease."""
        self.sleep(seconds)
        self.wait()
