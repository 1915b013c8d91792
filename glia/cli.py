"""The ``glia`` command: init, serve, migrate, rotate-signing-key, register-user,
appservice-registration."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import secrets
import sys
from pathlib import Path

from glia import __version__
from glia.config import Config, ConfigError, load_config, render_config

DEFAULT_CONFIG = "glia.yaml"


def _load(path: str | None) -> Config:
    if path is None and Path(DEFAULT_CONFIG).exists():
        path = DEFAULT_CONFIG
    try:
        return load_config(path)
    except ConfigError as e:
        sys.exit(str(e))


# -- init ----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from glia.ids import is_valid_server_name
    from glia.services.server_keys import create_signing_key_file

    config_path = Path(args.config or DEFAULT_CONFIG)
    if config_path.exists():
        print(f"{config_path} already exists; not overwriting it.", file=sys.stderr)
        return 1
    if not is_valid_server_name(args.server_name):
        print(f"{args.server_name!r} is not a valid server name.", file=sys.stderr)
        return 1
    from glia.config_sections import RegistrationConfig

    config = Config(
        server_name=args.server_name,
        data_dir=args.data_dir,
        registration=RegistrationConfig(shared_secret=secrets.token_urlsafe(32)),
        base_dir=str(config_path.resolve().parent),
    )
    key_path = config.resolve(config.signing_key_path)
    if key_path.exists():
        print(f"{key_path} already exists; not overwriting it.", file=sys.stderr)
        return 1
    create_signing_key_file(key_path)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(render_config(config))
    print(f"Wrote {config_path} and the signing key {key_path}.")
    print(f"Start the server with: glia serve -c {config_path}")
    return 0


# -- serve / migrate -----------------------------------------------------------------


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coro)  # type: ignore[arg-type]


def cmd_serve(args: argparse.Namespace) -> int:
    import dataclasses

    from glia.app import serve
    from glia.log import setup_logging

    config = _load(args.config)
    client = config.listeners.client
    if args.host or args.port is not None:
        client = dataclasses.replace(
            client, address=args.host or client.address,
            port=client.port if args.port is None else args.port,
        )
        config = dataclasses.replace(
            config, listeners=dataclasses.replace(config.listeners, client=client)
        )
    _check_app_services(config)
    setup_logging(config.logging.level)
    _run(serve(config))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from glia.storage import open_engine
    from glia.storage.migrate import migrate

    config = _load(args.config)

    async def run() -> None:
        engine = await open_engine(config)
        try:
            applied = await migrate(engine)
        finally:
            await engine.close()
        if not applied:
            print("The database schema is up to date.")
        for m in applied:
            print(f"Applied {m.version:04d}_{m.name}")

    asyncio.run(run())
    return 0


def cmd_rotate_signing_key(args: argparse.Namespace) -> int:
    from glia.clock import now_ms
    from glia.services.server_keys import rotate_signing_key
    from glia.storage import open_storage

    config = _load(args.config)

    async def run() -> None:
        storage = await open_storage(config)
        try:
            rotation = await rotate_signing_key(config, storage, now_ms())
        except FileNotFoundError as e:
            sys.exit(str(e))
        finally:
            await storage.close()
        print(f"New signing key {rotation.new_key_id}; {rotation.old_key_id} is now an old"
              " verify key. Restart Glia to sign with the new key.")

    asyncio.run(run())
    return 0


def _check_app_services(config: Config) -> None:
    """Refuse to start on a bad registration file, naming the file and the field."""
    from glia.services.appservices.registrations import load_app_services

    try:
        load_app_services(config)
    except ConfigError as e:
        sys.exit(str(e))


# -- appservice-registration -------------------------------------------------------------


def cmd_appservice_registration(args: argparse.Namespace) -> int:
    from glia.services.appservices.registrations import registration_yaml

    out = Path(args.output)
    if out.exists():
        print(f"{out} already exists; not overwriting it.", file=sys.stderr)
        return 1
    prefix = args.user_prefix or f"_{args.id}_"
    text = registration_yaml(
        args.id, args.url, args.sender_localpart or f"{args.id}bot",
        f"@{re.escape(prefix)}.*:{re.escape(args.server_name)}",
        f"#{re.escape(prefix)}.*:{re.escape(args.server_name)}",
        (secrets.token_urlsafe(32), secrets.token_urlsafe(32)), args.receive_ephemeral)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    print(f"Wrote {out}. Give it to the bridge and list it in app_service_config_files,"
          " then restart Glia.")
    return 0


# -- register-user -------------------------------------------------------------------


def _ask(prompt: str, default: str | None = None) -> str:
    suffix = f" [{default}]" if default else ""
    answer = input(f"{prompt}{suffix}: ").strip()
    return answer or (default or "")


def cmd_register_user(args: argparse.Namespace) -> int:
    import httpx

    from glia.services.shared_secret_registration import registration_mac

    secret = args.shared_secret
    server_url = args.server_url
    if secret is None:
        if args.config is None:
            print("Give the shared secret with -k or a config file with -c.", file=sys.stderr)
            return 1
        config = _load(args.config)
        secret = config.registration.shared_secret
        if not secret:
            print("No registration.shared_secret in the config.", file=sys.stderr)
            return 1
        if server_url is None:
            listener = config.listeners.client
            host = "localhost" if listener.address in ("0.0.0.0", "::") else listener.address
            server_url = f"http://{host}:{listener.port}"
    server_url = (server_url or "http://localhost:8008").rstrip("/")
    interactive = sys.stdin.isatty()

    user = args.user
    if not user:
        if not interactive:
            print("No user name given (-u).", file=sys.stderr)
            return 1
        user = _ask("New user localpart", getpass.getuser())
    password = args.password
    if args.password_file:
        password = Path(args.password_file).read_text().strip()
    if not password:
        if not interactive:
            print("No password given (-p or --password-file).", file=sys.stderr)
            return 1
        password = getpass.getpass("Password: ")
        if not password or password != getpass.getpass("Confirm password: "):
            print("Passwords do not match or are empty.", file=sys.stderr)
            return 1
    admin = args.admin
    if admin is None:
        admin = interactive and _ask("Make admin", "no").lower() in ("y", "yes", "true")

    with httpx.Client(timeout=30) as http:
        try:
            nonce = http.get(f"{server_url}/_synapse/admin/v1/register").json()["nonce"]
        except (httpx.HTTPError, KeyError, ValueError) as e:
            print(f"Could not get a nonce from {server_url}: {e}", file=sys.stderr)
            return 1
        body: dict[str, object] = {
            "nonce": nonce, "username": user, "password": password, "admin": admin,
            "mac": registration_mac(secret, nonce, user, password, admin, args.user_type),
        }
        if args.user_type:
            body["user_type"] = args.user_type
        print("Sending registration request...")
        response = http.post(f"{server_url}/_synapse/admin/v1/register", json=body)
    if response.status_code == 200:
        print(f"Success! Registered {response.json()['user_id']}.")
        return 0
    try:
        error = response.json()
    except ValueError:
        error = {"error": response.text}
    if args.exists_ok and error.get("errcode") == "M_USER_IN_USE":
        print("User already exists. Skipping.")  # register_new_matrix_user's words
        return 0
    print(f"ERROR! Received {response.status_code}: {error.get('error')}", file=sys.stderr)
    return 1


# -- argument parsing ----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glia", description="Glia Matrix homeserver")
    parser.add_argument("--version", action="version", version=f"glia {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write a new config file and signing key")
    init.add_argument("--server-name", required=True, help="domain of this server's user IDs")
    init.add_argument("--data-dir", default="data", help="database, key and media (default: data)")
    init.add_argument("-c", "--config", help=f"config file to write (default: {DEFAULT_CONFIG})")
    init.set_defaults(func=cmd_init)

    srv = sub.add_parser("serve", help="run the server")
    srv.add_argument("-c", "--config", help=f"config file (default: {DEFAULT_CONFIG} if present)")
    srv.add_argument("--host", help="client listener address (overrides the config)")
    srv.add_argument("--port", type=int, help="client listener port (overrides the config)")
    srv.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply database migrations and report them")
    mig.add_argument("-c", "--config", help=f"config file (default: {DEFAULT_CONFIG} if present)")
    mig.set_defaults(func=cmd_migrate)

    rot = sub.add_parser("rotate-signing-key",
                         help="replace the signing key; the old one stays published as old")
    rot.add_argument("-c", "--config", help=f"config file (default: {DEFAULT_CONFIG} if present)")
    rot.set_defaults(func=cmd_rotate_signing_key)

    reg = sub.add_parser(
        "register-user",
        help="register a user via shared-secret registration (like register_new_matrix_user)",
    )
    reg.add_argument("-u", "--user", help="local part of the new user")
    pw = reg.add_mutually_exclusive_group()
    pw.add_argument("-p", "--password", help="new password (prompted for if missing)")
    pw.add_argument("--password-file", help="file containing the new password")
    reg.add_argument("-t", "--user_type", "--user-type", dest="user_type",
                     help="user type, e.g. bot or support")
    adm = reg.add_mutually_exclusive_group()
    adm.add_argument("-a", "--admin", dest="admin", action="store_true", default=None,
                     help="make the new user a server admin")
    adm.add_argument("--no-admin", dest="admin", action="store_false",
                     help="do not make the new user an admin (don't ask)")
    secret = reg.add_mutually_exclusive_group()
    secret.add_argument("-c", "--config", help="config file with registration.shared_secret")
    secret.add_argument("-k", "--shared-secret", help="the shared secret itself")
    reg.add_argument("--exists-ok", action="store_true",
                     help="succeed if the user already exists")
    reg.add_argument("server_url", nargs="?",
                     help="URL of the server (default: from the config, else localhost:8008)")
    reg.set_defaults(func=cmd_register_user)
    asr = sub.add_parser("appservice-registration",
                         help="write an application-service registration file with fresh"
                              " tokens")
    asr.add_argument("--id", required=True, help="the application service's unique id")
    asr.add_argument("--url", help="where Glia reaches the service (omit: it receives"
                                   " nothing)")
    asr.add_argument("--server-name", required=True, help="this server's name")
    asr.add_argument("--sender-localpart", help="localpart of the service's own user"
                                                " (default: <id>bot)")
    asr.add_argument("--user-prefix", help="localpart prefix of its users and aliases"
                                           " (default: _<id>_)")
    asr.add_argument("--receive-ephemeral", action="store_true",
                     help="also send it typing, receipts and presence")
    asr.add_argument("-o", "--output", required=True, help="file to write")
    asr.set_defaults(func=cmd_appservice_registration)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
