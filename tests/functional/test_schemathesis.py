"""Schemathesis over /api/openapi.json with a logged-in staff session: generated requests (valid and not)
for every operation; no 5xx, and every response conforms to the document (status, content type, body).

Left out: the check that every schema-valid request is accepted. The API has rules JSON Schema does not
express (password strength and confirmation, privacy consent, real video files), and answers them with 400.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from videoflix.core.models import TEST_CONNECTION_KEY, User

from ..support.accounts import PASSWORD

pytestmark = pytest.mark.faults

EXAMPLES = 20
# tus chunks are raw bytes (the document says "binary"): generate them as such
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))
#: run last: they end or rotate the session the other requests use
SESSION_ENDING = {"/api/logout/", "/api/token/refresh/"}


@pytest.fixture
def staff(frontend, connection):
    frontend.signed_up("fuzz@example.com")
    connection.execute(User.__table__.update().where(User.email == "fuzz@example.com").values(is_staff=True))
    frontend.login("fuzz@example.com", PASSWORD)
    return dict(frontend.app.cookies)


@pytest.fixture
def broker(wsgi_app, monkeypatch):
    """Something accepting connections where the app looks for Kafka, so /readyz is ready (its 503 is the
    answer for a missing dependency, which Schemathesis counts as a server error)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        settings = wsgi_app.registry["videoflix.settings"]
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", replace(settings, kafka_bootstrap_servers=address))
        yield


def test_generated_requests_get_documented_answers(wsgi_app, connection, staff, broker):
    def app(environ, start_response):
        environ[TEST_CONNECTION_KEY] = connection
        return wsgi_app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=lambda op: op.path in SESSION_ENDING)
    failures, answers = [], {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same cases on every run: CI stays reproducible
        )
        def check(case):
            response = case.call(headers={"X-CSRFToken": staff["csrftoken"]}, cookies=dict(staff))
            answers.setdefault((case.method, case.path), set()).add(response.status_code)
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failures, then report them together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(answers) == len(operations) >= 15
    # the session lived through the generated requests (they were not all turned away as anonymous)
    anonymous = [op for op, codes in answers.items() if codes == {401} and op[1] not in SESSION_ENDING]
    assert not anonymous, answers
