"""matrix-nio, a real client library, against Glia: the Foundation scenario."""

from __future__ import annotations

import httpx
from nio import (
    AsyncClient,
    DevicesResponse,
    LoginResponse,
    LogoutResponse,
    ProfileGetDisplayNameResponse,
    ProfileSetDisplayNameResponse,
    RegisterResponse,
    WhoamiError,
    WhoamiResponse,
)

from tests.kit import PASSWORD, unique
from tests.server import GliaProcess


async def register(url: str, localpart: str) -> RegisterResponse:
    client = AsyncClient(url)
    try:
        response = await client.register(localpart, PASSWORD, device_name="nio register")
        assert isinstance(response, RegisterResponse), response
        return response
    finally:
        await client.close()


async def test_nio_scenario(glia: GliaProcess) -> None:
    alice_local, bob_local = unique("alice"), unique("bob")
    alice_reg = await register(glia.url, alice_local)
    bob_reg = await register(glia.url, bob_local)
    assert alice_reg.user_id == f"@{alice_local}:localhost"
    assert bob_reg.user_id == f"@{bob_local}:localhost"
    assert alice_reg.access_token and alice_reg.device_id

    # Alice logs in on a second device.
    client = AsyncClient(glia.url, alice_reg.user_id)
    try:
        login = await client.login(PASSWORD, device_name="nio laptop")
        assert isinstance(login, LoginResponse), login
        assert login.user_id == alice_reg.user_id
        assert login.device_id != alice_reg.device_id
        token = login.access_token

        who = await client.whoami()
        assert isinstance(who, WhoamiResponse), who
        assert who.user_id == alice_reg.user_id
        assert who.device_id == login.device_id
        assert who.is_guest is False

        set_name = await client.set_displayname("Alice via nio")
        assert isinstance(set_name, ProfileSetDisplayNameResponse), set_name
        got = await client.get_displayname()
        assert isinstance(got, ProfileGetDisplayNameResponse), got
        assert got.displayname == "Alice via nio"

        devices = await client.devices()
        assert isinstance(devices, DevicesResponse), devices
        by_id = {d.id: d for d in devices.devices}
        assert set(by_id) == {alice_reg.device_id, login.device_id}
        assert by_id[login.device_id].display_name == "nio laptop"
        assert by_id[alice_reg.device_id].display_name == "nio register"

        logout = await client.logout()
        assert isinstance(logout, LogoutResponse), logout

        # The old token is dead: nio sees M_UNKNOWN_TOKEN, and so does plain HTTP.
        client.access_token = token
        client.user_id = alice_reg.user_id
        stale = await client.whoami()
        assert isinstance(stale, WhoamiError), stale
        assert stale.status_code == "M_UNKNOWN_TOKEN"
    finally:
        await client.close()

    async with httpx.AsyncClient(base_url=glia.url) as http:
        r = await http.get("/_matrix/client/v3/account/whoami",
                           headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.json()["errcode"] == "M_UNKNOWN_TOKEN"
        # The first device (from registration) is still logged in; Bob is untouched.
        for reg in (alice_reg, bob_reg):
            r = await http.get("/_matrix/client/v3/account/whoami",
                               headers={"Authorization": f"Bearer {reg.access_token}"})
            assert r.status_code == 200 and r.json()["user_id"] == reg.user_id
        profile = await http.get(f"/_matrix/client/v3/profile/{alice_reg.user_id}")
        assert profile.json()["displayname"] == "Alice via nio"


async def test_nio_register_taken_name(glia: GliaProcess) -> None:
    localpart = unique("taken")
    await register(glia.url, localpart)
    client = AsyncClient(glia.url)
    try:
        again = await client.register(localpart, PASSWORD)
        assert not isinstance(again, RegisterResponse)
        assert again.status_code == "M_USER_IN_USE"
    finally:
        await client.close()


async def test_nio_wrong_password(glia: GliaProcess) -> None:
    localpart = unique("wrong")
    reg = await register(glia.url, localpart)
    client = AsyncClient(glia.url, reg.user_id)
    try:
        response = await client.login("not the password")
        assert not isinstance(response, LoginResponse)
        assert response.status_code == "M_FORBIDDEN"
    finally:
        await client.close()
