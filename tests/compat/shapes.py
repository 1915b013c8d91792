"""Comparing two answers by shape: status, ``errcode``, and the JSON's keys and value
types, never the values themselves (IDs, timestamps and tokens differ by nature)."""

from __future__ import annotations

import re
from typing import Any

import httpx

#: Keys that are identifiers (user, room, event IDs, device IDs, mxc URIs, signing key
#: IDs): a mapping keyed by them is compared value by value in key order, not by its keys.
_ID_KEY = re.compile(
    r"^([@!$#+].+|mxc://.+|[A-Z0-9]{8,}|[A-Za-z0-9_-]{20,}|ed25519:[A-Za-z0-9_]+)$")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "object"


def _id_keyed(keys: set[str]) -> bool:
    return bool(keys) and all(_ID_KEY.match(k) for k in keys)


def _signature(value: Any) -> str:
    """The shape of a value as text (kinds in place of values), for ordering."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_signature(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_signature(v) for v in value) + "]"
    return _kind(value)


def _paired_order(items: list[Any]) -> list[Any]:
    """Order is a value, not a shape: state events pair by (type, state_key), other
    items by their shape (two lists of devices, one seen and one not, in any order)."""
    if items and all(isinstance(i, dict) and isinstance(i.get("type"), str)
                     and isinstance(i.get("state_key"), str) for i in items):
        return sorted(items, key=lambda i: (i["type"], i["state_key"]))
    return sorted(items, key=_signature)


#: Mappings whose entries come and go with the server's state, not its shape: only the
#: entries both answers have are compared. Synapse runs its own background updates for
#: minutes after a fresh start, Glia only the jobs an admin started.
OPTIONAL_ENTRIES = {"$.current_updates"}


#: Values both servers document as nullable, null or not by the moment's state: an
#: update's rate is null until its first item is done (Synapse's running update has done
#: some, Glia's paused one none); a user's ``last_seen_ts`` is null until the server
#: wrote the user's first request down (Synapse writes client IPs in batches every few
#: seconds, Glia at once). ``[*]`` stands for any list index.
NULLABLE = {"$.current_updates.master.average_items_per_ms", "$.users[*].last_seen_ts",
            "$.last_seen_ts"}


def _generic(where: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", where)


def shape_differences(glia: Any, synapse: Any, where: str = "$") -> list[str]:
    """Where the two JSON values differ in shape, as ``path: what`` lines."""
    kind_g, kind_s = _kind(glia), _kind(synapse)
    if _generic(where) in NULLABLE and "null" in (kind_g, kind_s):
        return []
    if kind_g != kind_s:
        return [f"{where}: {kind_g} (Glia) vs {kind_s} (Synapse)"]
    if kind_g == "object":
        keys_g, keys_s = set(glia), set(synapse)
        if keys_g != keys_s and _id_keyed(keys_g) and _id_keyed(keys_s):
            pairs = zip(sorted(keys_g), sorted(keys_s), strict=False)
            found = [] if len(keys_g) == len(keys_s) else \
                [f"{where}: {len(keys_g)} entries (Glia) vs {len(keys_s)} (Synapse)"]
            for k_g, k_s in pairs:
                found += shape_differences(glia[k_g], synapse[k_s], f"{where}[*]")
            return found
        found = []
        if where in OPTIONAL_ENTRIES:
            keys_g = keys_s = keys_g & keys_s
        if keys_g - keys_s:
            found.append(f"{where}: only Glia has {sorted(keys_g - keys_s)}")
        if keys_s - keys_g:
            found.append(f"{where}: only Synapse has {sorted(keys_s - keys_g)}")
        for key in sorted(keys_g & keys_s):
            found += shape_differences(glia[key], synapse[key], f"{where}.{key}")
        return found
    if kind_g == "list":
        found = [] if len(glia) == len(synapse) else \
            [f"{where}: {len(glia)} items (Glia) vs {len(synapse)} (Synapse)"]
        pairs = zip(_paired_order(glia), _paired_order(synapse), strict=False)
        for i, (a, b) in enumerate(pairs):
            found += shape_differences(a, b, f"{where}[{i}]")
        return found
    return []


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def response_differences(glia: httpx.Response, synapse: httpx.Response) -> list[str]:
    """Status, then errcode for errors, then the JSON shape of successes."""
    if glia.status_code != synapse.status_code:
        detail = f"status {glia.status_code} (Glia) vs {synapse.status_code} (Synapse)"
        body_g, body_s = _json(glia), _json(synapse)
        codes = [b.get("errcode") if isinstance(b, dict) else None for b in (body_g, body_s)]
        if any(codes):
            detail += f"; errcode {codes[0]} vs {codes[1]}"
        return [detail]
    body_g, body_s = _json(glia), _json(synapse)
    if glia.status_code >= 400:
        code_g = body_g.get("errcode") if isinstance(body_g, dict) else None
        code_s = body_s.get("errcode") if isinstance(body_s, dict) else None
        return [] if code_g == code_s else [f"errcode {code_g} (Glia) vs {code_s} (Synapse)"]
    if (body_g is None) != (body_s is None):
        return [f"JSON body: {body_g is not None} (Glia) vs {body_s is not None} (Synapse)"]
    return shape_differences(body_g, body_s)
