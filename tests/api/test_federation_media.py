"""Other servers' media for our users: a user of A downloads (and thumbnails) media
uploaded on B over the authenticated federation endpoints; A keeps a copy and answers
from it; purge_media_cache drops it; the admin API sees and quarantines cached copies.
A third "server" on loopback answers the way broken or hostile servers do (garbage, a
404, a hang, an oversized file, the legacy endpoint only, a ``Location``) and counts
what it is asked, so the test can tell a fetch from a cache hit."""

from __future__ import annotations

import io
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from PIL import Image

from tests.api.test_media import png, upload
from tests.federation import FederatingServer, LoopbackCA, pair_names, start_federating
from tests.kit import Kit, User, assert_error, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

V1 = "/_matrix/client/v1/media"
LIMIT = 200_000
TIMEOUT = 8


class Peer(ThreadingHTTPServer):
    """A TLS server on loopback answering media requests by the media ID's prefix."""

    daemon_threads = True

    def __init__(self, port: int, ca: LoopbackCA) -> None:
        super().__init__(("127.0.0.1", port), _PeerHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca.cert_path, ca.key_path)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.port = port
        self.asked: Counter[str] = Counter()
        self.release = threading.Event()
        #: Holds the "slow" answers until the test ends; how many are held now.
        self.unblock = threading.Event()
        self.held = 0
        self.image = png(64, 48)


class _PeerHandler(BaseHTTPRequestHandler):
    server: Peer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _multipart(self, file_part: bytes) -> None:
        body = (b"--xyz\r\nContent-Type: application/json\r\n\r\n{}\r\n--xyz\r\n"
                + file_part + b"\r\n--xyz--\r\n")
        self._send(200, body, "multipart/mixed; boundary=xyz")

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        media_id = path.rsplit("/", 1)[-1]
        self.server.asked[path] += 1
        kind = media_id.split("_", 1)[0]
        federation = path.startswith("/_matrix/federation/v1/media/download/")
        if path.startswith("/file/"):
            self._send(200, self.server.image, "image/png")
        elif kind == "legacy":
            if federation:
                self._send(404, b"", "text/plain")
            else:
                self._send(200, self.server.image, "image/png",
                           {"Content-Disposition": "inline; filename=old.png"})
        elif not federation:
            self._send(404, b'{"errcode":"M_UNRECOGNIZED"}', "application/json")
        elif kind == "ok":
            self.server.release.wait(0.5)  # so concurrent requests overlap
            self._multipart(b"Content-Type: image/png\r\nContent-Disposition: inline;"
                            b" filename=peer.png\r\n\r\n" + self.server.image)
        elif kind == "odd":
            self._multipart(b"Content-Type: image/png\nX-Injected: 1\r\n"
                            b"Content-Disposition: attachment; filename*=utf-8''a%0Ab.png"
                            b"\r\n\r\n" + self.server.image)
        elif kind == "redirect":
            self._multipart(b"Location: https://127.0.0.1:%d/file/%s\r\n\r\n"
                            % (self.server.port, media_id.encode()))
        elif kind == "missing":
            self._send(404, b'{"errcode":"M_NOT_FOUND","error":"gone"}', "application/json")
        elif kind == "broken":
            self._send(500, b'{"errcode":"M_UNKNOWN"}', "application/json")
        elif kind == "garbage":
            self._send(200, b"\x00\xffnot a multipart body", "multipart/mixed; boundary=q")
        elif kind == "json":
            self._send(200, b"{}", "application/json")
        elif kind == "huge":
            self._multipart(b"Content-Type: application/octet-stream\r\n\r\n"
                            + b"x" * (LIMIT + 1))
        elif kind == "slow":
            self.server.held += 1
            self.server.unblock.wait(TIMEOUT * 6)
            self.server.held -= 1
            self._send(200, b"late", "text/plain")
        else:
            self._send(404, b'{"errcode":"M_NOT_FOUND"}', "application/json")


class Servers:
    def __init__(self, a: FederatingServer, b: FederatingServer, peer: Peer,
                 peer_name: str) -> None:
        self.a, self.b, self.peer, self.peer_name = a, b, peer, peer_name
        self.kit_a, self.kit_b = Kit(a.process.url), Kit(b.process.url)
        self.alice = self.kit_a.register_user()
        self.admin_a = self.kit_a.make_admin()
        self.bob = self.kit_b.register_user()
        self.admin_b = self.kit_b.make_admin()


@pytest.fixture(scope="module")
def s(new_database_url: Callable[[], str]) -> Iterator[Servers]:
    ca = LoopbackCA()
    names, ports = pair_names()
    started: list[GliaProcess] = []

    def start(env: dict[str, str], server_name: str) -> GliaProcess:
        process = GliaProcess(new_database_url(), env, server_name=server_name)
        started.append(process)
        return process.start()

    peer = Peer(ports[2], ca)
    thread = threading.Thread(target=peer.serve_forever, daemon=True)
    thread.start()
    try:
        a = start_federating(start, ca, names, ports, 0, {
            "GLIA_MEDIA__MAX_REMOTE_MEDIA_SIZE": str(LIMIT),
            "GLIA_MEDIA__REMOTE_MEDIA_TIMEOUT": str(TIMEOUT)})
        b = start_federating(start, ca, names, ports, 1)
        s = Servers(a, b, peer, names[2])
        yield s
        s.kit_a.close()
        s.kit_b.close()
    finally:
        peer.release.set()
        peer.unblock.set()
        peer.shutdown()
        peer.server_close()
        for process in started:
            process.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()[-5000:]


def download(s: Servers, server: str, media_id: str, suffix: str = "",
             user: User | None = None) -> httpx.Response:
    return s.kit_a.request("GET", f"{V1}/download/{server}/{media_id}{suffix}",
                           (user or s.alice).access_token, timeout=TIMEOUT * 4)


def test_download_thumbnail_cache_and_purge(s: Servers) -> None:
    image = png(320, 240)
    server, media_id = upload(s.kit_b, s.bob, image, filename="cat.png")
    assert server == s.b.name
    r = download(s, server, media_id)
    assert r.status_code == 200, r.text
    assert r.content == image and r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == "inline; filename=cat.png"
    r = download(s, server, media_id, "/other.png")
    assert r.status_code == 200 and r.headers["content-disposition"].endswith("other.png")
    r = s.kit_a.request("GET", f"{V1}/thumbnail/{server}/{media_id}?width=32&height=32"
                        "&method=crop", s.alice.access_token)
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == (32, 32)
    # The admin API of A describes the cached copy.
    r = s.kit_a.request("GET", f"/_synapse/admin/v1/media/{server}/{media_id}",
                        s.admin_a.access_token)
    assert r.status_code == 200, r.text
    info = r.json()["media_info"]
    assert info["media_origin"] == server and info["media_length"] == len(image)
    assert info["user_id"] is None and info["upload_name"] == "cat.png"
    # Gone from B, still served by A from its copy.
    r = s.kit_b.request("DELETE", f"/_synapse/admin/v1/media/{server}/{media_id}",
                        s.admin_b.access_token)
    assert r.status_code == 200, r.text
    assert download(s, server, media_id).content == image
    # Legacy paths serve no authenticated media, and never fetch it.
    assert_error(s.kit_a.request("GET", f"/_matrix/media/v3/download/{server}/{media_id}"),
                 404, "M_NOT_FOUND")
    # Purged: fetched again, and B no longer has it.
    r = s.kit_a.request("POST", "/_synapse/admin/v1/purge_media_cache?before_ts="
                        f"{s.kit_a.server_now() + 60_000}", s.admin_a.access_token)
    assert r.status_code == 200 and r.json()["deleted"] >= 1, r.text
    assert_error(download(s, server, media_id), 404, "M_NOT_FOUND")
    assert_error(s.kit_a.request("GET", f"/_synapse/admin/v1/media/{server}/{media_id}",
                                 s.admin_a.access_token), 404, "M_NOT_FOUND")


def test_quarantined_remote_media_is_refused(s: Servers) -> None:
    _, media_id = upload(s.kit_b, s.bob, png(8, 8))
    assert download(s, s.b.name, media_id).status_code == 200
    path = f"{s.b.name}/{media_id}"
    r = s.kit_a.request("POST", f"/_synapse/admin/v1/media/quarantine/{path}",
                        s.admin_a.access_token, json={})
    assert r.status_code == 200, r.text
    assert_error(download(s, s.b.name, media_id), 404, "M_NOT_FOUND")
    r = s.kit_a.request("GET", f"{V1}/download/{path}?admin_unsafely_bypass_quarantine=true",
                        s.admin_a.access_token)
    assert r.status_code == 200, r.text
    info = s.kit_a.request("GET", f"/_synapse/admin/v1/media/{path}",
                           s.admin_a.access_token).json()["media_info"]
    assert info["quarantined_by"] == s.admin_a.user_id
    # Purging keeps it, so the quarantine keeps blocking a fresh fetch.
    s.kit_a.request("POST", "/_synapse/admin/v1/purge_media_cache?before_ts="
                    f"{s.kit_a.server_now() + 60_000}", s.admin_a.access_token)
    assert_error(download(s, s.b.name, media_id), 404, "M_NOT_FOUND")
    r = s.kit_a.request("POST", f"/_synapse/admin/v1/media/unquarantine/{path}",
                        s.admin_a.access_token, json={})
    assert r.status_code == 200, r.text
    assert download(s, s.b.name, media_id).status_code == 200


def test_concurrent_downloads_fetch_once_then_the_cache_answers(s: Servers) -> None:
    media_id = unique("ok_")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: download(s, s.peer_name, media_id), range(4)))
    assert all(r.status_code == 200 and r.content == s.peer.image for r in answers)
    assert answers[0].headers["content-disposition"] == "inline; filename=peer.png"
    assert download(s, s.peer_name, media_id).content == s.peer.image
    assert s.peer.asked[f"/_matrix/federation/v1/media/download/{media_id}"] == 1


def test_location_and_legacy_fallback(s: Servers) -> None:
    media_id = unique("redirect_")
    assert download(s, s.peer_name, media_id).content == s.peer.image
    assert s.peer.asked[f"/file/{media_id}"] == 1
    media_id = unique("legacy_")
    r = download(s, s.peer_name, media_id)
    assert r.status_code == 200 and r.content == s.peer.image, r.text
    assert r.headers["content-disposition"] == "inline; filename=old.png"
    legacy = f"/_matrix/media/v3/download/{s.peer_name}/{media_id}"
    assert s.peer.asked[legacy] == 1
    # A server with the endpoint is never asked on the legacy one.
    assert_error(download(s, s.peer_name, unique("missing_")), 404, "M_NOT_FOUND")
    assert not [p for p in s.peer.asked if p.startswith("/_matrix/media/v3/download/")
                and "missing_" in p]


def test_headers_the_server_should_not_have_sent_are_not_passed_on(s: Servers) -> None:
    r = download(s, s.peer_name, unique("odd_"))
    assert r.status_code == 200 and r.content == s.peer.image, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    assert "x-injected" not in r.headers
    assert r.headers["content-disposition"] == "attachment; filename*=utf-8''a%0Ab.png"


@pytest.mark.parametrize(("kind", "errcode"), [
    ("broken", "M_UNKNOWN"), ("garbage", "M_UNKNOWN"), ("json", "M_UNKNOWN"),
    ("huge", "M_TOO_LARGE")])
def test_bad_answers_are_502(s: Servers, kind: str, errcode: str) -> None:
    assert_error(download(s, s.peer_name, unique(f"{kind}_")), 502, errcode)


def test_too_large_from_a_real_server(s: Servers) -> None:
    _, media_id = upload(s.kit_b, s.bob, b"y" * (LIMIT + 10), "application/octet-stream")
    r = download(s, s.b.name, media_id)
    assert_error(r, 502, "M_TOO_LARGE")
    assert str(LIMIT) in r.json()["error"]


def test_a_hanging_server_stalls_nobody_else(s: Servers) -> None:
    _, media_id = upload(s.kit_b, s.bob, png(4, 4))
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(download, s, s.peer_name, unique("slow_"))
        wait_until(lambda: s.peer.held == 1, what="the peer holding the slow request")
        # While the peer holds that fetch, others are answered.
        assert download(s, s.b.name, media_id).status_code == 200
        assert s.peer.held == 1
        # And the held one ends at the fetch timeout, as a 502.
        assert_error(hanging.result(), 502, "M_UNKNOWN")


def test_unknown_and_invalid(s: Servers) -> None:
    assert_error(download(s, s.b.name, unique("nothing")), 404, "M_NOT_FOUND")
    assert_error(download(s, "not a server", "abc"), 404, "M_NOT_FOUND")
    # A server outside the domain allow-list.
    assert_error(download(s, "elsewhere.example", "abcdef"), 403, "M_FORBIDDEN")


def test_room_media_quarantine_covers_cached_remote_media(s: Servers) -> None:
    _, media_id = upload(s.kit_b, s.bob, png(8, 8))
    assert download(s, s.b.name, media_id).status_code == 200
    room_id = create_room(s.kit_a, s.alice)
    send_event(s.kit_a, s.alice, room_id, {"msgtype": "m.image", "body": "b.png",
                                           "url": f"mxc://{s.b.name}/{media_id}"})
    r = s.kit_a.request("POST", f"/_synapse/admin/v1/room/{room_id}/media/quarantine",
                        s.admin_a.access_token, json={})
    assert r.status_code == 200 and r.json() == {"num_quarantined": 1}, r.text
    assert_error(download(s, s.b.name, media_id), 404, "M_NOT_FOUND")
