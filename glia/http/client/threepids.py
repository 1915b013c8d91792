"""3PIDs: ``…/requestToken`` (email, and msisdn which is refused), the mailed links'
``submit_token``, and ``/account/3pid`` (list, add, bind, unbind, delete)."""

from __future__ import annotations

import html
from typing import Any

import msgspec
from starlette.responses import HTMLResponse, RedirectResponse, Response

from glia.errors import MatrixError
from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.http.uia import stage_auth
from glia.services.threepids import ADD, PASSWORD_RESET, REGISTER, TokenRequest
from glia.services.uia import ThreepidCreds

routes = RouteGroup()


class SessionIdResponse(msgspec.Struct, frozen=True):
    sid: str


class MsisdnTokenRequest(msgspec.Struct):
    client_secret: str
    country: str
    phone_number: str
    send_attempt: int
    next_link: str | None = None


class SubmitTokenBody(msgspec.Struct):
    sid: str
    client_secret: str
    token: str


class SubmitTokenResponse(msgspec.Struct, frozen=True):
    success: bool


class ThreepidResponse(msgspec.Struct, frozen=True):
    medium: str
    address: str
    validated_at: int
    added_at: int


class ThreepidsResponse(msgspec.Struct, frozen=True):
    threepids: list[ThreepidResponse]


class AddBody(msgspec.Struct):
    client_secret: str
    sid: str
    auth: dict[str, Any] | None = None


class LegacyAddBody(msgspec.Struct):
    """The deprecated ``POST /account/3pid``."""

    three_pid_creds: ThreepidCreds | None = None
    #: The same, as r0 clients spell it.
    threePidCreds: ThreepidCreds | None = None
    bind: bool = False


class BindBody(msgspec.Struct):
    client_secret: str
    id_server: str
    id_access_token: str
    sid: str


class UnbindBody(msgspec.Struct):
    medium: str
    address: str
    id_server: str | None = None


class UnbindResponse(msgspec.Struct, frozen=True):
    id_server_unbind_result: str


# -- requestToken ------------------------------------------------------------------------


async def _email_token(req: Request[TokenRequest], purpose: str) -> SessionIdResponse:
    return SessionIdResponse(await req.services.threepids.request_email_token(purpose,
                                                                              req.body))


@routes.post(*client_paths("/register/email/requestToken"), auth=Auth.NONE,
             ratelimit="register", body=TokenRequest)
async def register_email_token(req: Request[TokenRequest]) -> SessionIdResponse:
    return await _email_token(req, REGISTER)


@routes.post(*client_paths("/account/3pid/email/requestToken"), auth=Auth.NONE,
             ratelimit="register", body=TokenRequest)
async def add_email_token(req: Request[TokenRequest]) -> SessionIdResponse:
    return await _email_token(req, ADD)


@routes.post(*client_paths("/account/password/email/requestToken"), auth=Auth.NONE,
             ratelimit="register", body=TokenRequest)
async def password_email_token(req: Request[TokenRequest]) -> SessionIdResponse:
    return await _email_token(req, PASSWORD_RESET)


@routes.post(*client_paths("/register/msisdn/requestToken"),
             *client_paths("/account/3pid/msisdn/requestToken"),
             *client_paths("/account/password/msisdn/requestToken"), auth=Auth.NONE,
             ratelimit="register", body=MsisdnTokenRequest)
async def msisdn_token(req: Request[MsisdnTokenRequest]) -> SessionIdResponse:
    # No SMS sender can be configured: Synapse's answer without one.
    raise MatrixError(400, "M_THREEPID_DENIED",
                      "Phone numbers are not supported on this homeserver")


# -- the mailed links ---------------------------------------------------------------------


def _page(status: int, message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>"
                        f"{html.escape(message)}</title></head><body><p>"
                        f"{html.escape(message)}</p></body></html>", status_code=status)


async def _follow_link(req: Request, purpose: str) -> Response:
    params = {name: req.query(name) for name in ("sid", "client_secret", "token")}
    missing = [name for name, value in params.items() if not value]
    if missing:
        return _page(400, f"Missing query parameter: {missing[0]}")
    try:
        next_link = await req.services.threepids.submit_token(
            purpose, str(params["sid"]), str(params["client_secret"]), str(params["token"]))
    except MatrixError as e:
        return _page(e.status, e.error)
    if next_link:
        return RedirectResponse(next_link, status_code=302)
    return _page(200, "Your email has been validated. You may now return to your client.")


@routes.get("/_matrix/client/unstable/registration/email/submit_token", auth=Auth.NONE)
async def registration_link(req: Request) -> Response:
    return await _follow_link(req, REGISTER)


@routes.get("/_matrix/client/unstable/add_threepid/email/submit_token", auth=Auth.NONE)
async def add_link(req: Request) -> Response:
    return await _follow_link(req, ADD)


@routes.get("/_synapse/client/password_reset/email/submit_token", auth=Auth.NONE)
async def password_reset_link(req: Request) -> Response:
    return await _follow_link(req, PASSWORD_RESET)


@routes.post("/_matrix/client/unstable/add_threepid/email/submit_token", auth=Auth.NONE,
             ratelimit="register", body=SubmitTokenBody)
async def add_submit_token(req: Request[SubmitTokenBody]) -> SubmitTokenResponse:
    try:
        await req.services.threepids.submit_token(ADD, req.body.sid, req.body.client_secret,
                                                  req.body.token)
    except MatrixError:
        return SubmitTokenResponse(False)
    return SubmitTokenResponse(True)


# -- /account/3pid ------------------------------------------------------------------------


@routes.get(*client_paths("/account/3pid"), auth=Auth.USER)
async def list_threepids(req: Request) -> ThreepidsResponse:
    found = await req.services.threepids.threepids_of(req.requester.user_id)
    return ThreepidsResponse([ThreepidResponse(t.medium, t.address, t.validated_at,
                                               t.added_at) for t in found])


@routes.post(*client_paths("/account/3pid/add"), auth=Auth.USER, body=AddBody)
async def add_threepid(req: Request[AddBody]) -> Empty:
    await req.services.account.require_password(req.requester, stage_auth(req.body.auth),
                                                "account/3pid/add")
    await req.services.threepids.add_validated(
        req.requester, ThreepidCreds(req.body.sid, req.body.client_secret))
    return EMPTY


@routes.post(*client_paths("/account/3pid"), auth=Auth.USER, body=LegacyAddBody)
async def add_threepid_legacy(req: Request[LegacyAddBody]) -> Empty:
    creds = req.body.three_pid_creds or req.body.threePidCreds
    if creds is None:
        raise MatrixError(400, "M_MISSING_PARAM", "Missing param three_pid_creds")
    await req.services.threepids.add_validated(req.requester, creds)
    if req.body.bind and creds.id_server and creds.id_access_token:
        await req.services.threepids.bind(req.requester, creds.id_server,
                                          creds.id_access_token, creds.sid,
                                          creds.client_secret)
    return EMPTY


@routes.post(*client_paths("/account/3pid/bind"), auth=Auth.USER, body=BindBody)
async def bind(req: Request[BindBody]) -> Empty:
    body = req.body
    await req.services.threepids.bind(req.requester, body.id_server, body.id_access_token,
                                      body.sid, body.client_secret)
    return EMPTY


@routes.post(*client_paths("/account/3pid/unbind"), auth=Auth.USER, body=UnbindBody)
async def unbind(req: Request[UnbindBody]) -> UnbindResponse:
    body = req.body
    return UnbindResponse(await req.services.threepids.unbind(
        req.requester, body.medium, body.address, body.id_server))


@routes.post(*client_paths("/account/3pid/delete"), auth=Auth.USER, body=UnbindBody)
async def delete(req: Request[UnbindBody]) -> UnbindResponse:
    body = req.body
    return UnbindResponse(await req.services.threepids.delete(
        req.requester, body.medium, body.address, body.id_server))
