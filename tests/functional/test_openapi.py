"""The OpenAPI document: valid OpenAPI 3, complete (every route), and in step with what the app answers."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime

import colander
import pytest
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from videoflix import openapi
from videoflix.openapi import parts


@pytest.fixture
def document(testapp):
    return testapp.get("/api/openapi.json", status=200).json


def test_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_documented_with_its_methods(document, wsgi_app):
    from videoflix.views.errors import allowed_methods

    for name, pattern in openapi.routes(wsgi_app.registry):
        path = document["paths"][openapi.openapi_path(pattern)]
        methods = {m.lower() for m in allowed_methods(wsgi_app.registry, name)} - {"head", "options"}
        assert methods <= set(path), (name, methods, set(path))


def test_a_route_without_documentation_breaks_the_build(wsgi_app, monkeypatch):
    monkeypatch.delitem(openapi.OPERATIONS, "videos.detail")
    with pytest.raises(KeyError, match=r"videos\.detail"):
        openapi.build(wsgi_app.registry)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        (
            r"/api/video/{id:\d+}/{resolution:(480|720|1080)p}/{segment:\d{3,6}}.ts",
            "/api/video/{id}/{resolution}/{segment}.ts",
        ),
        ("/api/activate/{uidb64}/{token}/", "/api/activate/{uidb64}/{token}/"),
        ("/api/login/", "/api/login/"),
    ],
)
def test_openapi_path(pattern, path):
    assert openapi.openapi_path(pattern) == path


def test_docs_page_uses_the_vendored_redoc(testapp):
    page = testapp.get("/api/docs/", status=200)
    assert page.content_type == "text/html"
    assert 'spec-url="/api/openapi.json"' in page.text and "cdn" not in page.text.lower()
    script = page.html.find("script")["src"]
    asset = testapp.get(script, status=200)
    assert asset.content_type in ("application/javascript", "text/javascript") and len(asset.body) > 500_000


def body_schema(document, path: str, method: str, content_type: str = "application/json") -> dict:
    return document["paths"][path][method]["requestBody"]["content"][content_type]["schema"]


def test_request_bodies_follow_the_colander_schemas(document, monkeypatch, wsgi_app):
    """The document states each field's rule as the schema the view validates with, and follows a change."""
    from videoflix.schemas.accounts import EMAIL_MAX, PASSWORD_MAX

    register = body_schema(document, "/api/register/", "post")
    assert register["required"] == ["email", "password", "confirmed_password"]
    assert register["properties"]["password"] == {
        "type": "string", "minLength": 1, "maxLength": PASSWORD_MAX, "format": "password"
    }  # fmt: skip
    assert register["properties"]["email"] == {"type": "string", "maxLength": EMAIL_MAX, "format": "email"}
    upload = body_schema(document, "/api/video/", "post", "multipart/form-data")
    assert upload["required"] == ["file", "title"]
    assert upload["properties"]["title"] == {"type": "string", "minLength": 1, "maxLength": 200}
    edit = body_schema(document, "/api/video/{id}/", "patch")
    assert "required" not in edit and set(edit["properties"]) == {"title", "description", "category"}

    # a rule changed in the schema changes the document
    from videoflix.schemas import videos as video_schemas

    longer = colander.SchemaNode(video_schemas.StrictString(), name="title", validator=colander.Length(min=1, max=300))
    monkeypatch.setattr(video_schemas.UploadSchema, "__all_schema_nodes__", [
        longer if node.name == "title" else node for node in video_schemas.UploadSchema.__all_schema_nodes__
    ])  # fmt: skip
    rebuilt = importlib.reload(importlib.import_module("videoflix.openapi.videos"))
    try:
        title = rebuilt.OPERATIONS["videos.list"]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert title["schema"]["properties"]["title"]["maxLength"] == 300
    finally:
        monkeypatch.undo()
        importlib.reload(rebuilt)


def test_a_colander_type_the_converter_does_not_know_is_refused():
    with pytest.raises(TypeError, match="DateTime"):
        parts.from_colander(colander.SchemaNode(colander.DateTime(), name="when"))


def test_the_status_shape_is_closed_so_an_undocumented_field_fails(document, dbsession):
    from videoflix.core.models import Video, VideoStatus
    from videoflix.views.videos import status_json

    schema = {**document["components"]["schemas"]["VideoStatus"], "components": document["components"]}
    validator = OAS30Validator(schema)
    video = Video(id=7, title="t", description="", category="", status=VideoStatus.UPLOADED, progress=0.0,
                  height=720, renditions=[], created_at=datetime.now(UTC))  # fmt: skip
    answer = json.loads(json.dumps(status_json(video), default=str))
    validator.validate(answer)
    with pytest.raises(ValidationError, match="Additional properties"):
        validator.validate({**answer, "undocumented": 1})
