"""Generated over every route that declares a request model: hostile bodies get a 4xx
with the Matrix errcode the decoder promises, never a 500.

For each route: a body that is not UTF-8 (``M_NOT_JSON``), JSON nested 5,000 deep
(``M_BAD_JSON``), and, field by field of its model, a value of the wrong type, integers
past 2^53−1 and floats where integers go (``M_BAD_JSON`` / ``M_INVALID_PARAM`` /
``M_MISSING_PARAM``); unknown fields are ignored, as Matrix requires, and must not break
anything either. As an admin, so the admin routes are decoded too.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from glia.http import admin_routes, client_routes
from glia.http.routes import Auth, Route
from tests.fuzz import FuzzAdmin, concrete_path, fuzz_server

DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000
NOT_UTF8 = b'{"reason": "\xff\xfe"}'
#: Candidate values, one of which every typed field refuses.
CANDIDATES: list[Any] = [12345, "x", True, [], {}, 1.5, None]
HUGE = [2**64, -(2**64), 2**53, 1.5]


def _modelled() -> list[Route]:
    seen: dict[tuple[str, str], Route] = {}
    for route in [*client_routes(), *admin_routes()]:
        if route.body is not None:
            seen.setdefault((route.method, route.path), route)
    return sorted(seen.values(), key=lambda r: (r.path, r.method))


ROUTES = _modelled()


def _hints(model: type[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(model, include_extras=True)
    except Exception:  # a model whose annotations need names we cannot resolve here
        return {}


def _refuses(tp: Any, value: Any) -> bool:
    try:
        msgspec.convert(value, tp, strict=True)
    except Exception:
        return True
    return False


def _field_variants(model: type[Any]) -> list[tuple[str, Any]]:
    """(field, hostile value) pairs: a wrong type for each field, and out-of-range or
    fractional numbers for integer fields."""
    out: list[tuple[str, Any]] = []
    info = msgspec.inspect.type_info(model)
    if not isinstance(info, msgspec.inspect.StructType):
        return out  # a free-form object (checked by its service), no fields to vary
    hints = _hints(model)
    for field in info.fields:
        tp = hints.get(field.name)
        if tp is None:
            continue
        wrong = next((c for c in CANDIDATES if _refuses(tp, c)), None)
        if wrong is not None:
            out.append((field.encode_name, wrong))
        if not _refuses(tp, 1):
            out.extend((field.encode_name, number) for number in HUGE if _refuses(tp, number))
    return out


@pytest.fixture(scope="module")
def hostile(new_database_url: Callable[[], str]) -> Iterator[FuzzAdmin]:
    with fuzz_server(new_database_url) as admin:
        yield admin


def test_routes_declare_models() -> None:
    """The generated checks below are only as wide as the routes that declare models."""
    assert len(ROUTES) >= 150, [f"{r.method} {r.path}" for r in ROUTES]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_hostile_bodies(hostile: FuzzAdmin, route: Route) -> None:
    path = concrete_path(route.path)
    appservice = route.auth is Auth.APPSERVICE
    assert route.body is not None
    # A model may answer its server's errcode for undecodable bodies (Dendrite's paths).
    own = getattr(route.body, "undecodable_errcode", None)
    r = hostile.send(route.method, path, NOT_UTF8, appservice)
    assert (r.status_code, r.json().get("errcode")) == (400, own or "M_NOT_JSON"), r.text
    r = hostile.send(route.method, path, DEEP, appservice)
    assert (r.status_code, r.json().get("errcode")) == (400, own or "M_BAD_JSON"), r.text
    for name, value in _field_variants(route.body):
        content = msgspec.json.encode({name: value, "unknown_hostile_field": {"x": [1]}})
        r = hostile.send(route.method, path, content, appservice)
        # The field's own type refuses the value, so the decoder must, before any handler.
        assert r.status_code == 400, (name, value, r.status_code, r.text)
        assert r.json().get("errcode") in ("M_BAD_JSON", "M_INVALID_PARAM",
                                           "M_MISSING_PARAM", own), (name, r.text)
