"""The whole API fuzzed from its own OpenAPI document (schemathesis on Hypothesis).

Every operation of ``/api/v1/openapi.json``, as the hub serves it, gets generated requests
that fit its schema and requests that do not (wrong types, missing and extra fields,
bodies that are not JSON), each with the token of a role drawn from every role there is
(no token and an unknown token too). No answer may be a server error, and each must be a
status, content type and body the document describes. In process through WSGI (no
network), derandomized and without deadlines, so a run is the same every time and takes
well under a minute on two cores.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hallserver.web.api.openapi import openapi_document
from hallserver.web.extensions import limiter
from tests.helpers import Clock, demo_app, hall_time, make_token

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and mode; the hub answers a case in a few milliseconds, the whole run is
# about 1,100 cases.
EXAMPLES = 20
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
# (role, counter) for every token role; None: no Authorization header.
ROLES = {"anonymous": None, "unknown": "not-a-token", "kiosk": ("kiosk", None), "display": ("display", None),
         "counter": ("counter", 1), "rating": ("rating", 1), "supervisor": ("supervisor", None),
         "admin": ("admin", None)}
DOCUMENT = openapi_document()


def _can_be_wrong(operation):
    """Whether a request can break the operation's schema: a body, a query or a typed path
    parameter (any text is a valid string path parameter, so there is nothing to negate)."""
    parameters = [DOCUMENT["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                  for p in operation.get("parameters", [])]
    return "requestBody" in operation or any(
        p["in"] != "path" or p["schema"].get("type") != "string" for p in parameters)


# (path, method, mode): every operation with data that fits its schema, and with data that
# does not where it takes any.
CASES = [(path, method.upper(), mode) for path, methods in DOCUMENT["paths"].items()
         for method, operation in methods.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or _can_be_wrong(operation)]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """The demo hall (open around the clock, with procedures) behind the WSGI app, its
    schema as served, and a bearer header for every role."""
    app = demo_app(tmp_path_factory.mktemp("fuzz"), Clock(hall_time(2026, 11, 26, 9, 0)),
                   rate_limit="100000 per minute")
    app.config["TESTING"] = False   # a server error is an answer to check, not an exception
    store = app.extensions["hall"].store
    headers = {}
    for name, role in ROLES.items():
        token = make_token(store, *role) if isinstance(role, tuple) else role
        headers[name] = {"Authorization": f"Bearer {token}"} if token else {}
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), headers, app
    store.close()


@pytest.mark.parametrize("path, method, mode", CASES,
                         ids=[f"{method} {path} {mode.value}" for path, method, mode in CASES])
def test_the_api_answers_every_request_as_documented(fuzzed, path, method, mode):
    schema, headers, app = fuzzed
    operation = schema[path][method]
    with app.app_context():
        limiter.reset()   # the look-up limit (60 a minute) is not what this run is about
    answered = []
    cases = operation.as_strategy(generation_mode=mode)
    if "{number}" in path and mode is GenerationMode.POSITIVE:   # a counter that exists, half of the time
        cases = st.one_of(cases, operation.as_strategy(generation_mode=mode, path_parameters={"number": 1}))

    @FUZZ
    @given(case=cases, role=st.sampled_from(sorted(ROLES)))
    def answers_as_documented(case, role):
        answered.append(case.call_and_validate(headers=headers[role], checks=CHECKS).status_code)

    answers_as_documented()
    assert answered and all(status < 500 for status in answered)
