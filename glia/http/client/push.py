"""Push notifications: ``/pushrules`` (the spec's rules API, plus Synapse's per-kind list),
``/pushers``, ``/pushers/set`` and ``/notifications``."""

from __future__ import annotations

from typing import Any, cast

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.push import PushRuleBody, RuleActionsBody, RuleEnabledBody
from glia.services.pushers import PusherSet

routes = RouteGroup()

_RULE = "/pushrules/global/{kind}/{ruleId}"


@routes.get(*client_paths("/pushrules/"), auth=Auth.USER)
async def get_all_rules(req: Request) -> dict[str, Any]:
    return await req.services.push.push_rules_content(req.requester.user_id)


@routes.get(*client_paths("/pushrules/global/"), auth=Auth.USER)
async def get_global_rules(req: Request) -> dict[str, Any]:
    content = await req.services.push.push_rules_content(req.requester.user_id)
    return dict(content["global"])


@routes.get(*client_paths("/pushrules/global/{kind}/"), auth=Auth.USER)
async def get_rules_of_kind(req: Request) -> list[dict[str, Any]]:
    return await req.services.push.rules_of_kind(req.requester.user_id, req.path("kind"))


@routes.get(*client_paths(_RULE), auth=Auth.USER)
async def get_rule(req: Request) -> dict[str, Any]:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return rule.to_json()


@routes.put(*client_paths(_RULE), auth=Auth.USER, ratelimit="default", body=PushRuleBody)
async def put_rule(req: Request[PushRuleBody]) -> dict[str, Any]:
    await req.services.push.put_rule(
        req.requester.user_id, req.path("kind"), req.path("ruleId"), req.body,
        before=req.query("before"), after=req.query("after"))
    return {}


@routes.delete(*client_paths(_RULE), auth=Auth.USER, ratelimit="default")
async def delete_rule(req: Request) -> dict[str, Any]:
    await req.services.push.delete_rule(req.requester.user_id, req.path("kind"),
                                        req.path("ruleId"))
    return {}


@routes.get(*client_paths(f"{_RULE}/enabled"), auth=Auth.USER)
async def get_enabled(req: Request) -> dict[str, Any]:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return {"enabled": rule.enabled}


#: ``{"enabled": bool}``, or the bare boolean many older clients send (Synapse takes it).
EnabledBody = RuleEnabledBody | bool


@routes.put(*client_paths(f"{_RULE}/enabled"), auth=Auth.USER, ratelimit="default",
            body=cast("type[EnabledBody]", EnabledBody))  # a union is a model msgspec takes
async def put_enabled(req: Request[EnabledBody]) -> dict[str, Any]:
    body = req.body if isinstance(req.body, RuleEnabledBody) else RuleEnabledBody(req.body)
    await req.services.push.set_enabled(req.requester.user_id, req.path("kind"),
                                        req.path("ruleId"), body)
    return {}


@routes.get(*client_paths(f"{_RULE}/actions"), auth=Auth.USER)
async def get_actions(req: Request) -> dict[str, Any]:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return {"actions": list(rule.actions)}


@routes.put(*client_paths(f"{_RULE}/actions"), auth=Auth.USER, ratelimit="default",
            body=RuleActionsBody)
async def put_actions(req: Request[RuleActionsBody]) -> dict[str, Any]:
    await req.services.push.set_actions(req.requester.user_id, req.path("kind"),
                                        req.path("ruleId"), req.body)
    return {}


@routes.get(*client_paths("/pushers"), auth=Auth.USER)
async def get_pushers(req: Request) -> dict[str, Any]:
    return {"pushers": await req.services.pushers.pushers(req.requester.user_id)}


@routes.post(*client_paths("/pushers/set"), auth=Auth.USER, ratelimit="default",
             body=PusherSet)
async def set_pusher(req: Request[PusherSet]) -> dict[str, Any]:
    await req.services.pushers.set_pusher(req.requester, req.body)
    return {}


@routes.get(*client_paths("/notifications"), auth=Auth.USER)
async def get_notifications(req: Request) -> dict[str, Any]:
    return await req.services.push.notifications(
        req.requester, req.query_int("from"), req.query_int("limit"), req.query("only"))
