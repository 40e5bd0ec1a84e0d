"""``python -m pgiam``: the command line. It only parses and translates; the work lives in the
subpackages. Each subcommand module exposes ``register(subparsers)``, which adds its parser and
sets ``func`` (a callable taking the parsed namespace and returning an exit code)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pgiam import __version__
from pgiam.errors import PgiamError

# subcommand name -> module that registers it; imported lazily so that `pgiam preview` does not
# pay for moto and `pgiam localcloud` does not pay for pulumi.
SUBCOMMANDS = {
    "preview": "pgiam.preview.cli",
    "localcloud": "pgiam.localcloud.cli",
    "e2e": "pgiam.e2e.cli",
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgiam", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"pgiam {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, module_name in SUBCOMMANDS.items():
        if wanted in SUBCOMMANDS and name != wanted:
            subparsers.add_parser(name)
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PgiamError as exc:
        print(f"pgiam {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"pgiam {args.command}: interrupted", file=sys.stderr)
        return 130
