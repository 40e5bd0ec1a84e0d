"""``pgiam preview``: a Pulumi Python program under the mock runtime, analysed by a real policy
pack over gRPC, without the Pulumi CLI, plugins or cloud credentials.

The command only translates; the work is in :mod:`pgiam.preview.run`.
"""

from __future__ import annotations

import argparse
import os
import sys

from pgiam.preview.run import PreviewOptions, ProgramTimeout, preview


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="run a Pulumi Python program under mocks and analyse it with a policy pack",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--program", required=True, metavar="DIR",
                        help="the Pulumi project directory (holds Pulumi.yaml)")
    parser.add_argument("--policy-pack", required=True, metavar="DIR",
                        help="the policy pack directory (holds PulumiPolicy.yaml)")
    parser.add_argument("--stack", default="dev", metavar="NAME",
                        help="stack name; Pulumi.<NAME>.yaml is read when present (default: dev)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="configuration value (repeatable); a key without namespace is the "
                             "project's; wins over the stack file")
    parser.add_argument("--mode", choices=("preview", "up"), default="preview",
                        help="preview: a new stack's preview, computed values unknown; up: "
                             "realistic computed values as after pulumi up (default: preview)")
    parser.add_argument("--policy-config", metavar="FILE",
                        help="policy pack configuration JSON, as pulumi's --policy-pack-config")
    parser.add_argument("--organization", default="organization",
                        help="organization name given to the pack (default: organization)")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="give up on a program still running under the mocks after this "
                             "long, exit 2 (default: 120)")
    parser.add_argument("--stack-output", action="append", default=[], metavar="STACK:KEY=VALUE",
                        help="an output of another stack a pulumi.StackReference reads (repeatable; "
                             "VALUE is JSON or text); without it those outputs are unknown")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _is_command_line_process() -> bool:
    """Whether this process is ``python -m pgiam`` or the ``pgiam`` script (not a caller that
    imported the CLI)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "pgiam.__main__":
        return True
    return spec is None and os.path.basename(sys.argv[0] or "") == "pgiam"


def run(args: argparse.Namespace) -> int:
    try:
        report = preview(PreviewOptions(
            program=args.program, policy_pack=args.policy_pack, stack=args.stack,
            config=list(args.config), mode=args.mode, policy_config=args.policy_config,
            organization=args.organization, timeout=args.timeout,
            stack_outputs=list(args.stack_output)))
    except ProgramTimeout as error:
        if not _is_command_line_process():
            raise
        # the program's stuck threads would keep the interpreter from exiting: leave now
        sys.stderr.write(f"pgiam preview: error: {error}\n")
        sys.stderr.flush()
        os._exit(2)
    sys.stdout.write((report.to_json() if args.json else report.to_text()) + "\n")
    code = report.exit_code
    if _is_command_line_process():
        # The pack and the engine service are stopped and the report is written. Tearing down
        # the interpreter would now free the Pulumi SDK's and the providers' modules one object
        # at a time, about 0.7 s of the 3 s budget (benchmarks/preview.py): skip it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
