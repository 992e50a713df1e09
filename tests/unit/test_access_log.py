"""The access log writes no credentials (api/main.py::loggable_target)."""

from fastapi.routing import APIRoute

from api.main import loggable_target


def _scope(path, query=b"", route=None, params=None):
    return {"path": path, "query_string": query, "route": route, "path_params": params or {}}


def test_tracker_credentials_tokens_and_positions_are_redacted():
    query = b"id=rep01-phone&timestamp=1700000000&lat=-6.2&lon=106.8&deviceid=x&speed=3"
    assert loggable_target(_scope("/v1/osmand", query)) == (
        "/v1/osmand?id=***&timestamp=1700000000&lat=***&lon=***&deviceid=***&speed=3"
    )
    assert loggable_target(_scope("/v1/x", b"access_token=abc&Token=def")) == (
        "/v1/x?access_token=***&Token=***"
    )


def test_a_device_id_in_the_path_is_redacted():
    route = APIRoute("/v1/devices/{device_id}", endpoint=lambda device_id: None)
    scope = _scope("/v1/devices/rep01-phone", route=route, params={"device_id": "rep01-phone"})
    assert loggable_target(scope) == "/v1/devices/***"


def test_other_paths_are_written_as_they_are():
    route = APIRoute("/v1/visits/{visit_id}", endpoint=lambda visit_id: None)
    scope = _scope("/v1/visits/12", b"format=csv", route=route, params={"visit_id": "12"})
    assert loggable_target(scope) == "/v1/visits/12?format=csv"
