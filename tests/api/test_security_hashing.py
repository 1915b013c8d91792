"""A flood of registrations must not stall the rest of the server.

Each registration hashes a password with bcrypt (hundreds of milliseconds of CPU at a
high cost). Hashed on the default thread pool, twenty of them queue ahead of everything
else that needs a thread — reading and writing media files — so a download waits for the
whole flood. Hashing has its own pool, sized to the cores; the event loop and the default
pool stay free. Measured without clocks: the download must finish while most of the
registrations are still hashing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from glia.services.shared_secret_registration import registration_mac
from tests.kit import Kit, unique
from tests.server import SHARED_SECRET, GliaProcess

FLOOD = 20


def test_server_answers_during_a_registration_flood(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_PASSWORD__BCRYPT_ROUNDS": "13"})
    kit = Kit(server.url)
    user = kit.register_user()
    r = kit.request("POST", "/_matrix/media/v3/upload", user.access_token, content=b"x" * 10,
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    media_path = r.json()["content_uri"].removeprefix("mxc://")

    # Signed requests made in advance, so the flood starts at once.
    bodies = []
    for _ in range(FLOOD):
        nonce = kit.http.get("/_synapse/admin/v1/register").json()["nonce"]
        localpart, password = unique("flood"), "a password for the flood"
        bodies.append({"nonce": nonce, "username": localpart, "password": password,
                       "mac": registration_mac(SHARED_SECRET, nonce, localpart, password,
                                               False, None)})
    done: list[int] = []
    lock = threading.Lock()

    def register(body: dict[str, object]) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            status = client.post("/_synapse/admin/v1/register", json=body).status_code
        with lock:
            done.append(status)

    threads = [threading.Thread(target=register, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    time.sleep(1.0)  # let the flood reach the hashing pool
    with httpx.Client(base_url=server.url, timeout=120) as client:
        assert client.get("/_matrix/client/versions").status_code == 200
        r = client.get(f"/_matrix/client/v1/media/download/{media_path}",
                       headers={"Authorization": f"Bearer {user.access_token}"})
        assert r.status_code == 200 and r.content == b"x" * 10
    with lock:
        finished_before_download = len(done)
    for t in threads:
        t.join()
    assert done == [200] * FLOOD
    assert finished_before_download < FLOOD // 2, finished_before_download
