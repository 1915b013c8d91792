"""docs/admin-api.md documents every admin endpoint Glia serves: each route's path (in
its Synapse form where one exists) appears in the reference."""

from __future__ import annotations

from pathlib import Path

from glia.http import admin_routes

DOC = Path(__file__).resolve().parents[2] / "docs" / "admin-api.md"


def _documented_form(path: str, paths: set[str]) -> str | None:
    """The form a path is documented under: Glia's copies of Synapse paths and the r0
    alias of the spec's whois are covered by their Synapse/v3 twins."""
    if path.startswith("/_glia/admin/"):
        twin = "/_synapse/admin/" + path.removeprefix("/_glia/admin/")
        if twin in paths:
            return None
    if path.startswith("/_matrix/client/r0/"):
        return None
    return path


def test_every_admin_route_is_documented() -> None:
    text = DOC.read_text()
    paths = {r.path for r in admin_routes()}
    missing = sorted(
        form for path in paths if (form := _documented_form(path, paths)) is not None
        # "…/{token}" may be documented as part of a longer heading; a path counts as
        # documented when it appears verbatim, or with its last segment in brackets.
        and form not in text and form.rsplit("/", 1)[0] + "[/" not in text)
    assert not missing, f"undocumented admin endpoints: {missing}"
