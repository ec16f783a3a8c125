"""The HTTP API against its own OpenAPI document (Schemathesis): no server errors, no call
accepted without authentication (but the public ones), bad input rejected with 4xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, not_a_server_error
from schemathesis.core.result import Err

from tests.test_web_app import Site, build_site, password

#: operations anyone may call: the published statements, and logging in
PUBLIC = {
    ("GET", "/api/statements"),
    ("GET", "/api/statements/{statement_id}"),
    ("POST", "/api/tokens"),
}
EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(scope="module")
def api_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own: the generated calls write to it."""
    built = build_site(tmp_path_factory.mktemp("api") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


@pytest.fixture(scope="module")
def api_schema(api_site: Site) -> schemathesis.BaseSchema:
    """The OpenAPI document the application serves."""
    return schemathesis.openapi.from_asgi("/api/openapi.json", api_site.app)


@pytest.fixture(scope="module")
def admin_token(api_site: Site) -> str:
    """An API token of the admin."""
    answer = TestClient(api_site.app).post(
        "/api/tokens", json={"username": "admin", "passphrase": password("admin")}
    )
    assert answer.status_code == 201
    token: str = answer.json()["token"]
    return token


def _operations(api_schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    # Schemathesis's own pytest integration (from_fixture) does not run on pytest 9, so the
    # operations are walked here and each one gets its own Hypothesis run.
    operations = []
    for result in api_schema.get_all_operations():
        assert not isinstance(result, Err), result  # the document itself is valid
        operations.append(result.ok())
    return operations


def test_the_document_describes_the_api(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/search", "/api/records/{kind}/{record_id}", "/api/stats", "/api/tokens"} <= paths
    assert all(p.startswith("/api/") for p in paths)  # pages are not in it
    security = api_schema.raw_schema["components"]["securitySchemes"]
    assert security["token"]["scheme"] == "bearer"
    for path, operations in api_schema.raw_schema["paths"].items():
        for method, operation in operations.items():
            needs_token = operation["security"] == [{"token": []}]
            assert needs_token == ((method.upper(), path) not in PUBLIC), (method, path)
    assert len(_operations(api_schema)) >= 18


def _unauthenticated_run(operation: schemathesis.APIOperation) -> Callable[[], None]:
    public = (operation.method.upper(), operation.path) in PUBLIC

    @EXAMPLES
    @given(case=operation.as_strategy())
    def call(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.method, case.path, response.text)
        if not public:
            # refused, or refused for malformed input before any login is asked: never 2xx
            assert response.status_code in (401, 422), (case.method, case.path)
        if response.status_code >= 400:
            assert set(response.json()["error"]) >= {"code", "message"}

    return call


def test_nothing_is_served_without_authentication(api_schema: schemathesis.BaseSchema) -> None:
    for operation in _operations(api_schema):
        _unauthenticated_run(operation)()


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_no_server_errors_and_bad_input_is_rejected(
    api_schema: schemathesis.BaseSchema, admin_token: str, mode: GenerationMode
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    for operation in _operations(api_schema):
        if operation.path == "/api/tokens/current":
            continue  # it would revoke the token the other calls use

        @EXAMPLES
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, negative_data_rejection])
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"code", "message"}

        try:
            call()
        except Unsatisfiable:
            # an operation without parameters has no invalid input to generate
            assert mode is GenerationMode.NEGATIVE, operation.label
