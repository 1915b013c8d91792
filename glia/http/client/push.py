"""Push notifications: ``/pushrules`` (the spec's rules API, plus Synapse's per-kind list),
``/pushers``, ``/pushers/set`` and ``/notifications``."""

from __future__ import annotations

from typing import Any, cast

import msgspec

from glia.errors import MatrixError
from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.push import (
    NotificationsPage,
    PushRuleBody,
    PushRulesContent,
    RuleActionsBody,
    RuleEnabledBody,
    RuleJson,
    RulesByKind,
)
from glia.services.pushers import PusherInfo, PusherSet

routes = RouteGroup()

_RULE = "/pushrules/global/{kind}/{ruleId}"


class RuleEnabled(msgspec.Struct, frozen=True):
    enabled: bool


class RuleActions(msgspec.Struct, frozen=True):
    actions: list[Any]


class Pushers(msgspec.Struct, frozen=True):
    pushers: list[PusherInfo]


@routes.get(*client_paths("/pushrules/"), auth=Auth.USER)
async def get_all_rules(req: Request) -> PushRulesContent:
    return await req.services.push.push_rules_content(req.requester.user_id)


@routes.get(*client_paths("/pushrules/global/"), auth=Auth.USER)
async def get_global_rules(req: Request) -> RulesByKind:
    content = await req.services.push.push_rules_content(req.requester.user_id)
    return content.global_


@routes.get(*client_paths("/pushrules/global/{kind}/"), auth=Auth.USER)
async def get_rules_of_kind(req: Request) -> list[RuleJson]:
    return await req.services.push.rules_of_kind(req.requester.user_id, req.path("kind"))


@routes.get(*client_paths(_RULE), auth=Auth.USER)
async def get_rule(req: Request) -> RuleJson:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return rule.to_json()


@routes.put(*client_paths(_RULE), auth=Auth.USER, ratelimit="default", body=PushRuleBody)
async def put_rule(req: Request[PushRuleBody]) -> Empty:
    await req.services.push.put_rule(
        req.uow, req.path("kind"), req.path("ruleId"), req.body,
        before=req.query("before"), after=req.query("after"))
    return EMPTY


@routes.delete(*client_paths(_RULE), auth=Auth.USER, ratelimit="default")
async def delete_rule(req: Request) -> Empty:
    await req.services.push.delete_rule(req.uow, req.path("kind"),
                                        req.path("ruleId"))
    return EMPTY


@routes.get(*client_paths(f"{_RULE}/enabled"), auth=Auth.USER)
async def get_enabled(req: Request) -> RuleEnabled:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return RuleEnabled(rule.enabled)


#: ``{"enabled": bool}``, or the bare boolean many older clients send (Synapse takes it).
EnabledBody = RuleEnabledBody | bool


@routes.put(*client_paths(f"{_RULE}/enabled"), auth=Auth.USER, ratelimit="default",
            body=cast("type[EnabledBody]", EnabledBody))  # a union is a model msgspec takes
async def put_enabled(req: Request[EnabledBody]) -> Empty:
    body = req.body if isinstance(req.body, RuleEnabledBody) else RuleEnabledBody(req.body)
    await req.services.push.set_enabled(req.uow, req.path("kind"),
                                        req.path("ruleId"), body)
    return EMPTY


@routes.get(*client_paths(f"{_RULE}/actions"), auth=Auth.USER)
async def get_actions(req: Request) -> RuleActions:
    rule = await req.services.push.get_rule(req.requester.user_id, req.path("kind"),
                                            req.path("ruleId"))
    return RuleActions(list(rule.actions))


@routes.put(*client_paths(f"{_RULE}/actions"), auth=Auth.USER, ratelimit="default",
            body=RuleActionsBody)
async def put_actions(req: Request[RuleActionsBody]) -> Empty:
    await req.services.push.set_actions(req.uow, req.path("kind"),
                                        req.path("ruleId"), req.body)
    return EMPTY


@routes.get(*client_paths("/pushrules/{scope}/"), auth=Auth.USER)
async def get_unknown_scope(req: Request) -> Empty:
    """Any scope but ``global`` (``device`` was dropped from the spec): Synapse's 400."""
    raise MatrixError(400, "M_UNRECOGNIZED", f"Unknown push rule scope {req.path('scope')!r};"
                      " the only scope is 'global'")


async def _unknown_attribute(req: Request) -> Empty:
    raise MatrixError(400, "M_UNRECOGNIZED", f"Unknown push rule attribute"
                      f" {req.path('attribute')!r}; the attributes are 'enabled' and"
                      " 'actions'")


# Registered after …/enabled and …/actions, which match first.
routes.get(*client_paths(f"{_RULE}/{{attribute}}"), auth=Auth.USER)(_unknown_attribute)
routes.put(*client_paths(f"{_RULE}/{{attribute}}"), auth=Auth.USER)(_unknown_attribute)


@routes.get(*client_paths("/pushers"), auth=Auth.USER)
async def get_pushers(req: Request) -> Pushers:
    return Pushers(await req.services.pushers.pushers(req.requester.user_id))


@routes.post(*client_paths("/pushers/set"), auth=Auth.USER, ratelimit="default",
             body=PusherSet)
async def set_pusher(req: Request[PusherSet]) -> Empty:
    await req.services.pushers.set_pusher(req.uow, req.body)
    return EMPTY


@routes.get(*client_paths("/notifications"), auth=Auth.USER)
async def get_notifications(req: Request) -> NotificationsPage:
    return await req.services.push.notifications(
        req.requester, req.query_int("from"), req.query_int("limit"), req.query("only"))
