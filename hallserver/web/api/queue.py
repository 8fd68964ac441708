"""The queue's JSON API under /api/v1: state, tickets, counters. Contract: docs/api.md."""

from flask import Blueprint, jsonify

from ...errors import NotFound
from ...services import auth
from ..extensions import get_hall, setting
from ..inputs import check_counter_action, counter_action_arguments, field, json_body
from . import current_principal
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/state")
def state():
    hall = get_hall()
    return jsonify(hall.state(recent=setting("recent_calls")))


@bp.post("/tickets")
def issue_ticket():
    principal = auth.require(current_principal(), "kiosk", "counter", "supervisor", "admin")
    data = json_body()
    service = field(data, "service", str)
    priority = field(data, "priority", str, required=False)
    channel = "kiosk" if principal.role == "kiosk" else "staff"
    ticket = get_hall().issue_ticket(service, priority=priority, channel=channel)
    return jsonify({"ticket": ticket}), 201


@bp.get("/tickets/<track_token>")
def track_ticket(track_token):
    ticket = get_hall().ticket_by_token(track_token)
    if ticket is None:
        raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
    return jsonify({"ticket": ticket})


@bp.post("/tickets/<track_token>/cancel")
def cancel_ticket(track_token):
    """The track token is the secret: whoever holds the ticket may give up the place."""
    return jsonify({"ticket": get_hall().cancel(track_token)})


@bp.get("/counters/<int:number>")
def counter_state(number):
    auth.require(current_principal(), counter=number)
    return jsonify(get_hall().counter_state(number))


@bp.post("/counters/<int:number>/<action>")
def counter_action(number, action):
    check_counter_action(action)
    auth.require(current_principal(), counter=number)
    arguments, request_id = counter_action_arguments(action, json_body())
    return jsonify(get_hall().counter_action(number, action, request_id=request_id, **arguments))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
