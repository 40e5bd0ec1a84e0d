"""``pgiam localcloud up|down|status|sa-token``: parses and translates to :mod:`.lifecycle` and
:mod:`.tokens`. Output for programs on stdout (JSON, or the token), messages on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pgiam.errors import PgiamError
from pgiam.localcloud import lifecycle
from pgiam.localcloud.serviceaccounts import (
    DEFAULT_AUDIENCE,
    DEFAULT_TTL_SECONDS,
    MAX_TTL_SECONDS,
    MIN_TTL_SECONDS,
    InvalidTokenRequest,
)

OPTION_OF_FIELD = {"namespace": "--namespace", "service account": "--service-account",
                   "audience": "--audience", "ttl": "--ttl", "pod": "--pod"}


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
    sys.stdout.flush()


UNKNOWN_KEYS_WARNING = ("pgiam localcloud: WARNING: --accept-unknown-keys: unsigned calls and access keys this "
                        "cloud never issued act as its administrator (moto's way); AWS refuses them\n")


def run_up(args: argparse.Namespace) -> int:
    info = lifecycle.up(args.state_dir, region=args.region, extensions=args.extension,
                        accept_unknown_keys=args.accept_unknown_keys)
    if info.get("accept_unknown_keys"):
        sys.stderr.write(UNKNOWN_KEYS_WARNING)
    _print_json(info)
    return 0


def run_down(args: argparse.Namespace) -> int:
    stopped = lifecycle.down(args.state_dir)
    _print_json({"state_dir": args.state_dir, "stopped": stopped})
    return 0


def run_status(args: argparse.Namespace) -> int:
    info = lifecycle.require_running(args.state_dir)
    if info.get("accept_unknown_keys"):
        sys.stderr.write(UNKNOWN_KEYS_WARNING)
    _print_json(info)
    return 0


def run_sa_token(args: argparse.Namespace) -> int:
    from pgiam.localcloud.tokens import mint_token

    lifecycle.require_running(args.state_dir)
    try:
        token = mint_token(args.state_dir, args.namespace, args.service_account,
                           audience=args.audience, ttl=args.ttl, pod_name=args.pod)
    except InvalidTokenRequest as exc:
        option = OPTION_OF_FIELD.get(exc.field, exc.field)
        raise PgiamError(f"{option}: {str(exc).split(': ', 1)[1]}") from None
    if args.output is None:
        sys.stdout.write(token + "\n")
        return 0
    write_token_file(args.output, token)
    return 0


def write_token_file(path: str, token: str) -> None:
    """The bare token, as the kubelet writes a projected token: no trailing newline (boto3's
    web-identity provider sends the file's bytes as they are, and a JWT holds no white space),
    mode 0600, replaced atomically so a reader never sees half a token."""
    import os
    import tempfile

    target = os.path.abspath(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=".sa-token-", dir=os.path.dirname(target))
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token)
        os.replace(temporary, target)
    except OSError as exc:
        raise PgiamError(f"--output {path}: {exc.strerror or exc}") from None


def _state_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", required=True, metavar="DIR",
                        help="the local cloud's state directory (one daemon per directory)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "localcloud", help="the local cloud: moto + strict STS + OIDC issuer (+ extensions)",
        description="Start, stop and use a local cloud (see docs/localcloud.md).")
    commands = parser.add_subparsers(dest="localcloud_command", metavar="COMMAND", required=True)

    up = commands.add_parser("up", help="start (or find running) and print its JSON")
    _state_dir_argument(up)
    up.add_argument("--region", default=None, help=f"AWS region (default {lifecycle.DEFAULT_REGION})")
    up.add_argument("--extension", action="append", default=[], metavar="MODULE",
                    help="also load this extension module (development and tests)")
    up.add_argument("--accept-unknown-keys", action="store_true",
                    help="permissive, moto's way: unsigned calls and made-up access keys act as the "
                         "administrator (default: refused as AWS refuses them; use the up JSON's admin keys)")
    up.set_defaults(func=run_up)

    down = commands.add_parser("down", help="stop everything it started and remove the state directory")
    _state_dir_argument(down)
    down.set_defaults(func=run_down)

    status = commands.add_parser("status", help="print the JSON of the running local cloud")
    _state_dir_argument(status)
    status.set_defaults(func=run_status)

    token = commands.add_parser("sa-token", help="print a signed service-account token")
    _state_dir_argument(token)
    token.add_argument("--namespace", required=True, help="Kubernetes namespace (DNS-1123 label)")
    token.add_argument("--service-account", required=True, help="service account (DNS-1123 subdomain)")
    token.add_argument("--audience", default=DEFAULT_AUDIENCE, help=f"default {DEFAULT_AUDIENCE}")
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, metavar="SECONDS",
                       help=f"lifetime, {MIN_TTL_SECONDS}..{MAX_TTL_SECONDS} (default {DEFAULT_TTL_SECONDS})")
    token.add_argument("--pod", default=None, metavar="NAME", help="pod name for the kubernetes.io claim")
    token.add_argument("--output", default=None, metavar="FILE",
                       help="write the bare token (no newline, mode 0600) to FILE, as the kubelet writes "
                            "AWS_WEB_IDENTITY_TOKEN_FILE; default: print it with a newline")
    token.set_defaults(func=run_sa_token)
