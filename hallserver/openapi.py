"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

COUNTER_ACTIONS_DOC = {
    "call-next": "Call the next ticket for this counter (completes the current one). `{\"ticket\": null}` when nobody waits.",
    "call": "Call a specific number today (`{\"number\": \"1003\"}`); a no-show is reinstated on the way.",
    "recall": "Announce the current ticket again (409 `recall_limit` after policy.max_recalls).",
    "start": "The citizen has arrived: the current ticket is being served.",
    "done": "The current ticket is finished.",
    "no-show": "The called citizen did not come (reinstatable today).",
    "transfer": "Send the current ticket to another service's queue (`{\"service\": CODE}`), keeping its number.",
    "reinstate": "Put today's no-show (`{\"number\": ...}`) back at the front of its queue.",
    "pause": "Stop taking calls (break); the current ticket stays.",
    "resume": "Take calls again.",
}


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


ERRORS = {
    "400": _error("Malformed JSON or not a JSON object"),
    "401": _error("Missing or invalid token"),
    "403": _error("The token's role may not do this, or it belongs to another counter"),
    "404": _error("Unknown counter, ticket or action"),
    "409": _error("Conflict: cap reached, outside hours, counter paused, nothing to recall, ..."),
    "413": _error("Body larger than HALL_MAX_BODY_BYTES"),
    "422": _error("Missing field, wrong type or unknown code"),
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


def openapi_document():
    ticket = {
        "type": "object",
        "properties": {
            "number": {"type": "string", "examples": ["1003", "A012"]},
            "service": {"type": "string"},
            "service_name": {"type": "string"},
            "status": {"enum": ["waiting", "called", "serving", "done", "no_show", "cancelled", "expired"]},
            "priority": {"type": ["string", "null"]},
            "channel": {"enum": ["kiosk", "online", "staff", "appointment"]},
            "position": {"type": ["integer", "null"], "description": "1 = next to be called in its service"},
            "ahead": {"type": ["integer", "null"]},
            "eta_minutes": {"type": ["integer", "null"]},
            "counter": {"type": ["integer", "null"]},
            "issued_at": {"type": "string", "format": "date-time"},
            "called_at": {"type": ["string", "null"], "format": "date-time"},
            "track_token": {"type": "string", "description": "Only in the answer to POST /tickets"},
        },
        "required": ["number", "service", "status", "position", "eta_minutes"],
    }
    counter_paths = {}
    for action, description in COUNTER_ACTIONS_DOC.items():
        properties = {"request_id": {"type": "string", "maxLength": 100,
                                     "description": "Repeating it returns the first answer and changes nothing"}}
        required = []
        if action == "transfer":
            properties["service"] = {"type": "string"}
            required = ["service"]
        if action in ("call", "reinstate"):
            properties["number"] = {"type": "string"}
            required = ["number"]
        counter_paths[f"/counters/{{number}}/{action}"] = {
            "post": {
                "summary": description,
                "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/counter"}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": properties, "required": required}}}},
                "responses": {"200": _json("#/components/schemas/CounterAnswer"),
                              **_errors("400", "401", "403", "404", "409", "413", "422")},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hall Queue hub API", "version": "1",
                 "description": "See docs/api.md for the Socket.IO push contract."},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A device token from `hallserver token create`"}},
            "parameters": {"counter": {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"}},
                    "required": ["code", "message"]}}, "required": ["error"]},
                "Ticket": ticket,
                "CounterAnswer": {"type": "object", "properties": {
                    "ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]},
                    "counter": {"type": "object"}}, "required": ["ticket", "counter"]},
                "State": {"type": "object", "required": ["seq", "hall", "services", "counters", "recent_calls"],
                          "properties": {
                              "seq": {"type": "integer"},
                              "hall": {"type": "object", "properties": {"name": {"type": "string"}}},
                              "services": {"type": "array", "items": {"type": "object", "properties": {
                                  "code": {"type": "string"}, "name": {"type": "string"},
                                  "waiting": {"type": "integer"}, "eta_minutes": {"type": ["integer", "null"]}}}},
                              "counters": {"type": "array", "items": {"type": "object", "properties": {
                                  "number": {"type": "integer"}, "name": {"type": "string"},
                                  "status": {"enum": ["open", "paused", "closed"]},
                                  "current": {"type": ["object", "null"]}}}},
                              "recent_calls": {"type": "array", "items": {"type": "object", "properties": {
                                  "call_id": {"type": "string"}, "number": {"type": "string"},
                                  "counter": {"type": "integer"}, "called_at": {"type": "string"}}}},
                          }},
            },
        },
        "paths": {
            "/state": {"get": {"summary": "The public board (no personal data)",
                               "responses": {"200": _json("#/components/schemas/State")}}},
            "/tickets": {"post": {
                "summary": "Issue a ticket (kiosk, counter or supervisor token)",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["service"],
                    "properties": {"service": {"type": "string"}, "priority": {"type": ["string", "null"]}}}}}},
                "responses": {"201": {"description": "Issued", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"}}}}}},
                              **_errors("400", "401", "403", "409", "413", "422")},
            }},
            "/tickets/{track_token}": {"get": {
                "summary": "Follow a ticket (public: the track token is the secret)",
                "parameters": [{"name": "track_token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The ticket", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"}}}}}},
                              **_errors("404")},
            }},
            "/tickets/{track_token}/cancel": {"post": {
                "summary": "Give up the place (waiting or called tickets)",
                "parameters": [{"name": "track_token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Cancelled"}, **_errors("404", "409")},
            }},
            "/counters/{number}": {"get": {
                "summary": "A counter's desk: status, current ticket, what waits for it",
                "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/counter"}],
                "responses": {"200": {"description": "The counter"}, **_errors("401", "403", "404")},
            }},
            **counter_paths,
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}},
        },
    }
