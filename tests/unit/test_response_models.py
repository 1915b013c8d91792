"""Every client and media route names its response model at the route: the handler's
return annotation is a named type (a Struct, a dataclass, a named free-form JSON alias
such as ``ClientEvent``, or a raw ``Response``), never an anonymous ``dict[str, Any]`` or
``Any``, and msgspec can describe it (so the server's encoder writes it as declared)."""

from __future__ import annotations

import inspect
import re
import typing

import msgspec
import pytest
from starlette.responses import Response

from glia.http import client_routes
from glia.http.routes import Route

ROUTES = sorted({(r.method, r.path): r for r in client_routes()}.values(),
                key=lambda r: (r.path, r.method))
#: An answer's type written without a name for what it is.
ANONYMOUS = re.compile(r"\b(dict|Dict|Mapping|Any|object)\b")


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
def test_route_names_its_response_model(route: Route) -> None:
    written = inspect.get_annotations(route.handler).get("return")
    where = f"{route.method} {route.path} ({route.handler.__qualname__})"
    assert isinstance(written, str) and written, f"{where} has no return annotation"
    assert ANONYMOUS.search(written) is None, \
        f"{where} answers {written}: name its response model"
    answer = typing.get_type_hints(route.handler)["return"]
    if answer is not Response:
        msgspec.json.schema(answer)
