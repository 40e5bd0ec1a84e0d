"""``python -m app serve|check``. Translates settings and failures into one-line messages and exit
codes: 0 ok, 1 the check failed, 2 bad configuration. Never a traceback for either."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence

from app import __version__
from app.identity import AWS_FAILURES, describe_aws_failure, make_clients
from app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("app")

EXIT_CHECK_FAILED = 1
EXIT_CONFIG = 2
# waitress refuses larger bodies itself (413) before they reach Flask, which answers bodies over
# validation.MAX_BODY_BYTES with a JSON 413: nothing large is ever buffered.
WAITRESS_MAX_BODY = 1024 * 1024


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"app {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="serve the page and the JSON API with waitress")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default: the PORT variable, else 8080)")
    serve.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
    serve.set_defaults(func=serve_command)
    check = commands.add_parser("check", help="run the connect flow once; exit 0 or 1 with the reason")
    check.add_argument("--json", action="store_true", help="print the report as one JSON object")
    check.set_defaults(func=check_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # botocore's debug logs can carry signed requests, and it logs a failed credential refresh
    # with a traceback: the app reports those failures itself, in one line.
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    logging.getLogger("botocore.credentials").setLevel(logging.CRITICAL)
    try:
        settings = load_settings(os.environ)
    except SettingsError as exc:
        print(f"app {args.command}: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if settings.tls_warning:
        log.warning("INSECURE TLS SETTING: %s", settings.tls_warning)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        return 130


def _clients(settings: Settings, command: str):
    try:
        return make_clients(settings)
    except AWS_FAILURES as exc:
        print(f"app {command}: configuration error: AWS SDK: {describe_aws_failure(exc)}", file=sys.stderr)
        return None


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    from app.check import run_check

    clients = _clients(settings, "check")
    if clients is None:
        return EXIT_CONFIG
    report = run_check(settings, clients)
    if args.json:
        print(json.dumps(report.as_json()))
    else:
        for step, detail in report.steps:
            print(f"ok   {step}: {detail}")
    if report.failed:
        print(f"app check: failed at {report.failed.stage}: {report.failed.reason}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    if not args.json:
        print("check passed")
    return 0


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    import waitress

    from app.service import DemoService
    from app.web import create_app

    clients = _clients(settings, "serve")
    if clients is None:
        return EXIT_CONFIG
    port = args.port or settings.port
    service = DemoService.build(settings, clients=clients)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    log.info("serving on http://%s:%d for %s@%s/%s (sslmode %s)", args.host, port, settings.db_user,
             settings.endpoint, settings.db_name, settings.sslmode)
    try:
        waitress.serve(create_app(service), host=args.host, port=port, threads=args.threads,
                       max_request_body_size=WAITRESS_MAX_BODY, ident="app", _quiet=True)
    except OSError as exc:
        print(f"app serve: cannot listen on {args.host}:{port}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        service.close()
    log.info("stopped")
    return 0


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
