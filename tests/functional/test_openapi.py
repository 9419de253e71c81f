"""The OpenAPI document: valid OpenAPI 3, complete (every route), and in step with what the app answers."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from videoflix import openapi


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
