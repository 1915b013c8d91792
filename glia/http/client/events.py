"""Writing and reading room events: ``send``, ``state``, ``redact``, ``event``."""

from __future__ import annotations

from typing import Any

import msgspec

from glia import errors
from glia.clock import now_ms
from glia.http.client.responses import EventIdResponse
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.ids import is_valid_event_id
from glia.services.event_format import ClientEvent
from glia.services.events import EventRequest, client_event

routes = RouteGroup()

#: An event's content: any JSON object (its type decides its shape, not the server).
Content = dict[str, Any]


class RedactBody(msgspec.Struct):
    """``/redact``: an optional reason (the whole body is optional)."""

    reason: str | None = None


def _bridged_ts(req: Request[Any]) -> int | None:
    """An application service's ``ts`` query parameter (ignored for anyone else)."""
    if req.requester is None or req.requester.app_service is None:
        return None
    return req.query_int("ts", None, minimum=0, clamp=False)


@routes.put(*client_paths("/rooms/{roomId}/send/{eventType}/{txnId}"), auth=Auth.USER,
            ratelimit="message", body=Content)
async def send(req: Request[Content]) -> EventIdResponse:
    who = req.requester
    event = await req.services.room_events.send(
        req.path("roomId"),
        EventRequest(who.user_id, req.path("eventType"), req.body,
                     txn=(who.device_id, req.path("txnId")),
                     origin_server_ts=_bridged_ts(req)),
    )
    return EventIdResponse(event.event_id)


# Not in the spec, but Synapse serves it and some bots and scripts use it: a send with no
# transaction ID, so a retried request sends the event again.
@routes.post(*client_paths("/rooms/{roomId}/send/{eventType}"), auth=Auth.USER,
             ratelimit="message", body=Content)
async def send_without_txn(req: Request[Content]) -> EventIdResponse:
    event = await req.services.room_events.send(
        req.path("roomId"),
        EventRequest(req.requester.user_id, req.path("eventType"), req.body))
    return EventIdResponse(event.event_id)


@routes.put(*client_paths("/rooms/{roomId}/state/{eventType}/{stateKey}"),
            *client_paths("/rooms/{roomId}/state/{eventType}"), auth=Auth.USER,
            ratelimit="message", body=Content)
async def put_state(req: Request[Content]) -> EventIdResponse:
    return EventIdResponse(await req.services.state_writes.set_state(
        req.requester.user_id, req.path("roomId"), req.path("eventType"),
        req.path_params.get("stateKey", ""), req.body, origin_server_ts=_bridged_ts(req)))


@routes.get(*client_paths("/rooms/{roomId}/state/{eventType}/{stateKey}"),
            *client_paths("/rooms/{roomId}/state/{eventType}"), auth=Auth.USER)
async def get_state_event(req: Request) -> Content | ClientEvent:
    event = await req.services.state.state_event(
        req.requester.user_id, req.path("roomId"), req.path("eventType"),
        req.path_params.get("stateKey", ""))
    if req.query("format") == "event":
        return client_event(event, None, now_ms())
    return event.content


@routes.get(*client_paths("/rooms/{roomId}/state"), auth=Auth.USER)
async def get_state(req: Request) -> list[ClientEvent]:
    now = now_ms()
    events = await req.services.state.state_events(req.requester.user_id, req.path("roomId"))
    return [client_event(e, None, now) for e in events]


@routes.put(*client_paths("/rooms/{roomId}/redact/{eventId}/{txnId}"), auth=Auth.USER,
            ratelimit="message", body=RedactBody, empty_body=True)
async def redact(req: Request[RedactBody]) -> EventIdResponse:
    who = req.requester
    if not is_valid_event_id(req.path("eventId")):
        raise errors.invalid_param(f"{req.path('eventId')} is not a legal event ID")
    content = {} if req.body.reason is None else {"reason": req.body.reason}
    event = await req.services.room_events.send(
        req.path("roomId"),
        EventRequest(who.user_id, "m.room.redaction", content, redacts=req.path("eventId"),
                     txn=(who.device_id, req.path("txnId"))),
    )
    return EventIdResponse(event.event_id)
