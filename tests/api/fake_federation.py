"""A hostile (or just scripted) federating server on loopback for the tests: it has its
own name and signing key, serves its keys, and answers ``/event``, ``/backfill``,
``/state_ids`` and ``get_missing_events`` with whatever the test put there, so a test
can make a Glia fetch events no honest server would serve. It joins a Glia's room the
way a server does (``make_join`` / ``send_join``) and sends events with signed
transactions."""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from glia.protocol.events import add_hashes, build_event, compute_event_id
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.protocol.server_keys import own_key_response
from glia.protocol.signing import SigningKey, generate_signing_key, sign_event
from tests.federation import FederatingServer, signed_request
from tests.kit import unique

Pdu = dict[str, Any]


class FakeServer:
    def __init__(self, name: str, port: int, cert_path: str, key_path: str) -> None:
        self.name = name
        self.key: SigningKey = generate_signing_key("fake")
        #: Event ID → PDU, served by ``/event``.
        self.events: dict[str, Pdu] = {}
        #: What ``/backfill`` answers (its PDUs), and the queries it got.
        self.backfill_pdus: list[Pdu] = []
        self.backfill_asked: list[str] = []
        #: What ``/state_ids`` answers (any event asked).
        self.state_ids: dict[str, Any] = {"pdu_ids": [], "auth_chain_ids": []}
        version = get_room_version("12")
        assert version is not None
        self.version: RoomVersion = version
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/_matrix/key/v2/server":
                    self._answer(200, own_key_response(fake.name, fake.key, [],
                                                       int(time.time() * 1000)))
                elif path.startswith("/_matrix/federation/v1/event/"):
                    pdu = fake.events.get(unquote(path.rsplit("/", 1)[1]))
                    if pdu is None:
                        self._answer(404, {"errcode": "M_NOT_FOUND", "error": "no"})
                    else:
                        self._answer(200, fake.transaction([pdu]))
                elif path.startswith("/_matrix/federation/v1/state_ids/"):
                    self._answer(200, fake.state_ids)
                elif path.startswith("/_matrix/federation/v1/backfill/"):
                    fake.backfill_asked.append(self.path)
                    self._answer(200, fake.transaction(fake.backfill_pdus))
                else:
                    self._answer(404, {"errcode": "M_UNRECOGNIZED", "error": "no"})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "/get_missing_events/" in self.path:
                    self._answer(200, {"events": []})
                else:
                    self._answer(404, {"errcode": "M_UNRECOGNIZED", "error": "no"})

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/_matrix/federation/v1/send/"):
                    self._answer(200, {"pdus": {}})
                else:
                    self._answer(404, {"errcode": "M_UNRECOGNIZED", "error": "no"})

        self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def transaction(self, pdus: list[Pdu]) -> dict[str, Any]:
        return {"origin": self.name, "origin_server_ts": int(time.time() * 1000),
                "pdus": pdus}

    def user(self) -> str:
        return f"@{unique('mallory')}:{self.name}"

    def join(self, target: FederatingServer, room_id: str, user_id: str) -> str:
        """Join ``user_id`` to ``room_id`` through ``target``; the join's event ID."""
        r = signed_request(self.name, self.key, target, "GET",
                           f"/_matrix/federation/v1/make_join/{quote(room_id)}/"
                           f"{quote(user_id)}?ver=12")
        assert r.status_code == 200, r.text
        event = {k: v for k, v in r.json()["event"].items()
                 if k not in ("hashes", "signatures", "unsigned")}
        event["origin_server_ts"] = int(time.time() * 1000)
        signed = sign_event(add_hashes(event), self.version, self.name, self.key)
        event_id = compute_event_id(signed, self.version)
        r = signed_request(self.name, self.key, target, "PUT",
                           f"/_matrix/federation/v2/send_join/{quote(room_id)}/"
                           f"{quote(event_id)}", signed)
        assert r.status_code == 200, r.text
        return event_id

    def event(self, room_id: str, sender: str, event_type: str, content: dict[str, Any],
              prev: list[str], auth: list[str], depth: int, state_key: str | None = None,
              key: SigningKey | None = None) -> tuple[str, Pdu]:
        """A PDU of ``sender`` signed by this server (or with ``key``)."""
        pdu = build_event(self.version, room_id=room_id, sender=sender,
                          event_type=event_type, content=content, prev_events=prev,
                          auth_events=sorted(auth), depth=depth,
                          origin_server_ts=int(time.time() * 1000), server_name=self.name,
                          state_key=state_key)
        pdu = sign_event(pdu, self.version, self.name, key or self.key)
        return compute_event_id(pdu, self.version), pdu

    def send(self, target: FederatingServer, pdus: list[Pdu]) -> dict[str, Any]:
        r = signed_request(self.name, self.key, target, "PUT",
                           f"/_matrix/federation/v1/send/{unique('txn')}",
                           {"origin": self.name,
                            "origin_server_ts": int(time.time() * 1000),
                            "pdus": pdus, "edus": []})
        assert r.status_code == 200, r.text
        return dict(r.json()["pdus"])
