"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

COUNTER_ACTIONS_DOC = {
    "call-next": ("Call the next ticket for this counter (completes the current one). "
                  "`{\"ticket\": null}` when nobody waits. 409 `just_called` within policy.repeat_guard_seconds "
                  "of the last call; 409 `arrival_unknown` when the current ticket was called recently and never "
                  "started: repeat with `{\"arrived\": true}` (done) or `false` (no-show)."),
    "call": "Call a specific number today (`{\"number\": \"1003\"}`); a no-show is reinstated on the way.",
    "recall": "Announce the current ticket again (409 `recall_limit` after policy.max_recalls).",
    "start": "The citizen has arrived: the current ticket is being served.",
    "done": "The current ticket is finished.",
    "no-show": "The called citizen did not come (reinstatable today).",
    "transfer": "Send the current ticket to another service's queue (`{\"service\": CODE}`), keeping its number.",
    "reinstate": "Put today's no-show (`{\"number\": ...}`) back at the front of its queue.",
    "pause": "Stop taking calls (break); the current ticket stays.",
    "resume": "Take calls again.",
    "undo": ("Reverse the counter's last action within policy.undo_seconds (a call, done, no-show or "
             "transfer); 409 `nothing_to_undo` or `cannot_undo`."),
}


def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_ref, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


ERRORS = {
    "400": _error("Malformed JSON or not a JSON object"),
    "401": _error("Missing or invalid token"),
    "403": _error("The token's role may not do this, or it belongs to another counter"),
    "404": _error("Unknown counter, ticket or action"),
    "409": _error("Conflict: cap reached, outside hours, counter paused, nothing to recall, ..."),
    "413": _error("Body larger than HALL_MAX_BODY_BYTES"),
    "422": _error("Missing field, wrong type, empty or too long value, or unknown code"),
    "429": _error("Too many requests from this address (booking.rate_limit; look-ups: 60 a minute)"),
    "503": {**_error("The database is held by another writer (a backup, a second hub): try again"),
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}},
}


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


def _text(max_length=100, **schema):
    """A string field as the hub reads it (``inputs.field``): empty or blank strings and strings
    over ``max_length`` are refused with 422."""
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": r"\S", **schema}


def _body(properties, required=()):
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": list(required)}}}}


def _booking_answer(status="200", description="The booking (no personal data)"):
    return {status: {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"booking": {"$ref": "#/components/schemas/Booking"}}}}}}}


BOOKING_SCHEMAS = {
    "Booking": {
        "type": "object",
        "description": "A booking as its holder and the public API see it: never a name, phone or dossier code",
        "properties": {
            "code": {"type": "string", "examples": ["ABCD-EFGH"]},
            "status": {"enum": ["booked", "checked_in", "cancelled", "no_show"]},
            "service": {"type": "string"}, "service_name": {"type": "string"},
            "procedure": {"type": ["string", "null"]}, "procedure_name": {"type": ["string", "null"]},
            "slot": {"type": "string", "examples": ["2026-11-27T09:00"]},
            "day": {"type": "string", "format": "date"}, "time": {"type": "string"}, "ends": {"type": "string"},
            "starts_at": {"type": "string", "format": "date-time"},
            "check_in_from": {"type": "string", "format": "date-time"},
            "check_in_until": {"type": "string", "format": "date-time"},
            "ticket": {"type": ["object", "null"], "properties": {"number": {"type": "string"},
                                                                  "status": {"type": "string"}}},
        },
        "required": ["code", "status", "service", "slot", "starts_at"],
    },
    "StaffBooking": {"allOf": [{"$ref": "#/components/schemas/Booking"}, {"type": "object", "properties": {
        "name": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
        "dossier_code": {"type": ["string", "null"]}, "source": {"enum": ["web", "api", "staff", "import"]},
        "created_at": {"type": "string"}, "purged": {"type": "boolean"}}}]},
    "Procedure": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
        "service": {"type": "string"}, "service_name": {"type": "string"}, "active": {"type": "boolean"},
        "who": {"type": "string"}, "documents": {"type": "array", "items": {"type": "string"}},
        "fee": {"type": "string"}, "processing_time": {"type": "string"}, "result": {"type": "string"},
        "online_url": {"type": "string"}, "online_note": {"type": "string"},
        "legal_basis": {"type": "array", "items": {"type": "string"}},
        "keywords": {"type": "array", "items": {"type": "string"}}}, "required": ["code", "name", "service"]},
}

CODE_AND_PHONE = {"code": _text(300, description="The booking code, as shown or scanned"),
                  "phone": _text(20, description="The phone the booking was made with (second factor)")}

BOOKING_PATHS = {
    "/procedures": {
        "get": {"summary": "Procedures (public), accent-insensitive search: ?q=dang ky khai sinh, ?service=HT",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}},
                               {"name": "service", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Matching procedures", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"procedures": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Procedure"}}}}}}}}},
        "post": {"summary": "Create or edit one procedure (admin token); the body is a Procedure",
                 "security": [{"bearer": []}],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "$ref": "#/components/schemas/Procedure"}}}},
                 "responses": {"200": {"description": "The saved procedure", "content": {"application/json": {
                     "schema": {"type": "object", "properties": {"procedure": {
                         "$ref": "#/components/schemas/Procedure"}}}}}},
                     **_errors("400", "401", "403", "413", "422", "503")}},
    },
    "/bookings/slots": {"get": {
        "summary": "A service's bookable days and slots with the places left (public)",
        "parameters": [{"name": "service", "in": "query", "schema": {"type": "string"}},
                       {"name": "procedure", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "`{service, slot_minutes, days: [{day, closed, slots: [{slot, time, "
                                             "ends, free}]}]}`"}, **_errors("404", "422")}}},
    "/bookings/challenge": {"get": {
        "summary": "A check question for a public booking: `{challenge, image (PNG data URL: the sum is only "
                   "there), question, question_en, expires_in, phone_verification}`",
        "responses": {"200": {"description": "Answer it in POST /bookings (or POST /bookings/verify-phone)"}}}},
    "/bookings/verify-phone": {"post": {
        "summary": "Where the hall sends codes: a solved challenge → a 6-digit code sent to the phone through "
                   "the hall's webhook: `{verification, expires_in, phone}`",
        "requestBody": _body({"phone": _text(20), "challenge": _text(500),
                              "answer": {"type": ["string", "integer"]}}, ["phone", "challenge"]),
        "responses": {"202": {"description": "The code was sent"},
                      **_errors("400", "409", "413", "422", "429", "503")}}},
    "/bookings": {
        "post": {"summary": "Book a slot: public with a solved challenge, or a counter/supervisor/admin token. "
                            "The same idempotency_key again returns the same booking",
                 "security": [{}, {"bearer": []}],
                 "requestBody": _body({
                     "procedure": _text(20), "service": _text(20),
                     "slot": _text(20, examples=["2026-11-27T09:00"]),
                     "name": _text(100), "phone": _text(20),
                     "dossier_code": _text(40), "idempotency_key": _text(100),
                     "challenge": _text(500), "answer": {"type": ["string", "integer"]},
                     "verification": _text(100), "code": _text(20)},
                     ["slot", "name", "phone"]),
                 "responses": {**_booking_answer("201", "Booked"),
                               **_errors("400", "403", "404", "409", "413", "422", "429", "503")}},
        "get": {"summary": "A day's bookings with names and phones (supervisor or admin token); every call "
                           "is written to the access log",
                "security": [{"bearer": []}],
                "parameters": [{"name": "day", "in": "query", "schema": {"type": "string", "format": "date"}},
                               {"name": "service", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "`{day, bookings: [StaffBooking]}`", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"bookings": {
                        "type": "array", "items": {"$ref": "#/components/schemas/StaffBooking"}}}}}}},
                    **_errors("401", "403", "422")}},
    },
    "/bookings/lookup": {"post": {
        "summary": "A booking by its code (public: the code is the secret)",
        "requestBody": _body({"code": CODE_AND_PHONE["code"]}, ["code"]),
        "responses": {**_booking_answer(), **_errors("400", "404", "413", "422", "429")}}},
    "/bookings/cancel": {"post": {
        "summary": "Cancel a booking with its code and phone (or a supervisor/admin token and the code)",
        "security": [{}, {"bearer": []}],
        "requestBody": _body(CODE_AND_PHONE, ["code"]),
        "responses": {**_booking_answer(), **_errors("400", "404", "409", "413", "422", "429", "503")}}},
    "/bookings/move": {"post": {
        "summary": "Move a booking to another slot of its service (code and phone)",
        "requestBody": _body({**CODE_AND_PHONE, "slot": _text(20)}, ["code", "phone", "slot"]),
        "responses": {**_booking_answer(), **_errors("400", "404", "409", "413", "422", "429", "503")}}},
    "/bookings/check-in": {"post": {
        "summary": "Check a booking in (kiosk, counter, supervisor or admin token): its ticket, channel "
                   "`appointment`; 409 `too_early` / `too_late` name the `service` for a normal ticket",
        "security": [{"bearer": []}],
        "requestBody": _body({"code": CODE_AND_PHONE["code"]}, ["code"]),
        "responses": {"201": {"description": "`{booking, ticket (with track_token), again: false}`"},
                      "200": {"description": "Already checked in: the same ticket, `again: true`"},
                      **_errors("400", "401", "403", "404", "409", "413", "422", "503")}}},
    "/bookings/import": {"post": {
        "summary": "Import bookings made elsewhere (admin token): JSON `{rows: [...]}` or a text/csv body; "
                   "answers `{imported: [{row, code, slot}], rejected: [{row, code, message, message_en}]}`",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "properties": {"rows": {"type": "array"}}}},
            "text/csv": {"schema": {"type": "string"}}}},
        "responses": {"200": {"description": "Every row imported or rejected with its reason"},
                      **_errors("400", "401", "403", "413", "422", "503")}}},
}


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
            "eta_minutes": {"type": ["integer", "null"], "description": "best single estimate of the wait"},
            "eta_low_minutes": {"type": ["integer", "null"], "description": "low end of the estimate's range"},
            "eta_high_minutes": {"type": ["integer", "null"], "description": "high end of the estimate's range"},
            "eta_at": {"type": ["string", "null"], "description": "local HH:MM the estimate points at"},
            "eta_after_closure": {"type": ["boolean", "null"],
                                  "description": "a closure of the hall (lunch) lies before eta_at"},
            "near_turn": {"type": "boolean", "description": "policy soon_ahead / soon_minutes reached"},
            "counter": {"type": ["integer", "null"]},
            "issued_at": {"type": "string", "format": "date-time"},
            "called_at": {"type": ["string", "null"], "format": "date-time"},
            "track_token": {"type": "string", "description": "Only in the answer to POST /tickets"},
        },
        "required": ["number", "service", "status", "position", "eta_minutes"],
    }
    counter_paths = {}
    for action, description in COUNTER_ACTIONS_DOC.items():
        properties = {"request_id": _text(100, description="Repeating it returns the first answer and changes nothing")}
        required = []
        if action == "transfer":
            properties["service"] = _text(100, examples=["HT"])
            required = ["service"]
        if action in ("call", "reinstate"):
            properties["number"] = _text(10)
            required = ["number"]
        if action == "call-next":
            properties["arrived"] = {"type": "boolean",
                                     "description": "Whether the current, never-started ticket's citizen came"}
        counter_paths[f"/counters/{{number}}/{action}"] = {
            "post": {
                "summary": description,
                "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/counter"}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": properties, "required": required}}}},
                "responses": {"200": _json("#/components/schemas/CounterAnswer"),
                              **_errors("400", "401", "403", "404", "409", "413", "422", "503")},
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
            "parameters": {"counter": {"name": "number", "in": "path", "required": True, "example": 1,
                                       "schema": {"type": "integer"}}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "message_en": {"type": "string"}},
                    "required": ["code", "message"]}}, "required": ["error"]},
                "Ticket": ticket,
                **BOOKING_SCHEMAS,
                "CounterAnswer": {"type": "object", "properties": {
                    "ticket": {"oneOf": [{"$ref": "#/components/schemas/Ticket"}, {"type": "null"}]},
                    "counter": {"type": "object"}}, "required": ["ticket", "counter"]},
                "State": {"type": "object", "required": ["seq", "hall", "services", "counters", "recent_calls"],
                          "properties": {
                              "seq": {"type": "integer"},
                              "hall": {"type": "object", "properties": {"name": {"type": "string"}}},
                              "services": {"type": "array", "items": {"type": "object", "properties": {
                                  "code": {"type": "string"}, "name": {"type": "string"},
                                  "waiting": {"type": "integer"}, "eta_minutes": {"type": ["integer", "null"]},
                                  "eta_low_minutes": {"type": ["integer", "null"]},
                                  "eta_high_minutes": {"type": ["integer", "null"]},
                                  "eta_at": {"type": ["string", "null"]},
                                  "eta_after_closure": {"type": ["boolean", "null"]}}}},
                              "counters": {"type": "array", "items": {"type": "object", "properties": {
                                  "number": {"type": "integer"}, "name": {"type": "string"},
                                  "status": {"enum": ["open", "paused", "closed"]},
                                  "current": {"type": ["object", "null"]}}}},
                              "recent_calls": {"type": "array", "items": {"type": "object", "properties": {
                                  "call_id": {"type": "string"}, "number": {"type": "string"},
                                  "counter": {"type": "integer"}, "called_at": {"type": "string"},
                                  "recall": {"type": "boolean"}, "age_seconds": {"type": "integer"},
                                  "text": {"type": ["string", "null"]}, "text_en": {"type": ["string", "null"]},
                                  "clips": {"type": "array", "items": {"type": "string"}}}}},
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
                    "properties": {"service": _text(100, examples=["HT"]),
                                   "priority": {**_text(100), "type": ["string", "null"]}}}}}},
                "responses": {"201": {"description": "Issued", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"}}}}}},
                              **_errors("400", "401", "403", "409", "413", "422", "503")},
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
                "responses": {"200": {"description": "Cancelled", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ticket": {"$ref": "#/components/schemas/Ticket"}}}}}},
                              **_errors("404", "409", "503")},
            }},
            "/counters/{number}": {"get": {
                "summary": "A counter's desk: status, current ticket, what waits for it",
                "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/counter"}],
                "responses": {"200": {"description": "The counter"}, **_errors("401", "403", "404")},
            }},
            **counter_paths,
            **BOOKING_PATHS,
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}},
        },
    }
