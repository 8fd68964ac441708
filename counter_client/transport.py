"""Counter actions over HTTP, each acknowledged by the hub or reported as failed.

Every key press gets a fresh ``request_id`` (uuid4). When the network fails, the same
request is sent again with the same ``request_id``: the hub answers a repeated id with
its first answer and does nothing else, so a retry can never call a second citizen.
If every attempt fails the request stays *unacknowledged*; pressing the same key again
resends it under the same id, for the same reason.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import requests

#: Pauses before the 2nd, 3rd and 4th attempt.
RETRY_DELAYS = (0.3, 0.8, 1.5)
CONNECT_TIMEOUT = 3.0


@dataclass
class ActionResult:
    """The hub's answer to one action, or why there is none."""

    action: str
    ok: bool
    answer: dict | None = None
    code: str | None = None  # the hub's error code, or "unreachable"
    message: str = ""  # Vietnamese
    message_en: str = ""
    attempts: int = 1
    request_id: str | None = None
    resent: bool = False  # a new press that resent an unacknowledged request under its id

    @property
    def unreachable(self) -> bool:
        return self.code == "unreachable"


class HubClient:
    """Posts ``/api/v1/counters/<n>/<action>`` with the counter's token."""

    def __init__(self, hub: str, counter: int, token: str, timeout: float = 5.0, session=None,
                 retry_delays=RETRY_DELAYS, sleep=time.sleep, new_request_id=lambda: str(uuid.uuid4())):
        self.base = f"{hub.rstrip('/')}/api/v1/counters/{counter}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.session = session or requests.Session()
        self.retry_delays = tuple(retry_delays)
        self.sleep = sleep
        self.new_request_id = new_request_id
        self._unacknowledged = None  # (action, body, request_id) of a request that got no answer

    def perform(self, action: str, **body) -> ActionResult:
        """Post the action; retry transient failures with the same ``request_id``."""
        request_id = self._request_id_for(action, body)
        resent = self._unacknowledged is not None and request_id == self._unacknowledged[2]
        payload = {**body, "request_id": request_id}
        failure = ""
        for attempt, delay in enumerate((0.0, *self.retry_delays), start=1):
            if delay:
                self.sleep(delay)
            try:
                response = self.session.post(f"{self.base}/{action}", json=payload, headers=self.headers,
                                             timeout=self.timeout)
            except requests.RequestException as error:
                failure = _describe(error)
                continue
            if response.status_code >= 500:
                # The hub rolled back (or a proxy failed): the same id is safe to send again.
                failure = f"HTTP {response.status_code}"
                continue
            self._unacknowledged = None
            result = _result(action, response, attempt, request_id)
            result.resent = resent
            return result
        self._unacknowledged = (action, body, request_id)
        return ActionResult(action, ok=False, code="unreachable", attempts=attempt, request_id=request_id,
                            resent=resent,
                            message="Không có xác nhận từ hub, mất kết nối",
                            message_en=f"no acknowledgement, hub unreachable ({failure})")

    def unacknowledged_besides(self, action: str, body: dict) -> str | None:
        """The action of an unacknowledged request other than ``action`` with ``body`` (which
        would resend it), or None: whether it was carried out is not known."""
        if self._unacknowledged and self._unacknowledged[:2] != (action, body):
            return self._unacknowledged[0]
        return None

    def forget_unacknowledged(self) -> None:
        """The unacknowledged request is known not to have been carried out: the next press is a new one."""
        self._unacknowledged = None

    def counter_state(self) -> ActionResult:
        """``GET /api/v1/counters/<n>``, one attempt (a read: nothing to protect)."""
        try:
            response = self.session.get(self.base, headers=self.headers, timeout=self.timeout)
        except requests.RequestException as error:
            return ActionResult("state", ok=False, code="unreachable", message="Mất kết nối",
                                message_en=f"hub unreachable ({_describe(error)})")
        return _result("state", response, 1, None)

    def _request_id_for(self, action: str, body: dict) -> str:
        """The unacknowledged request's id when the same action is asked again, else a new one."""
        if self._unacknowledged and self._unacknowledged[:2] == (action, body):
            return self._unacknowledged[2]
        return self.new_request_id()


def _result(action: str, response, attempts: int, request_id: str | None) -> ActionResult:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.ok and isinstance(body, dict):
        return ActionResult(action, ok=True, answer=body, attempts=attempts, request_id=request_id)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{response.status_code}", "message": f"Lỗi HTTP {response.status_code}",
                 "message_en": f"HTTP {response.status_code} {response.reason or ''}".strip()}
    return ActionResult(action, ok=False, code=error.get("code"), message=error.get("message", ""),
                        message_en=error.get("message_en", ""), attempts=attempts, request_id=request_id)


def _describe(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    return type(error).__name__
