"""``pgiam e2e``: parse, build the target, run it (or sweep), exit with the run's code.

    pgiam e2e --target local|aws [--program infra] [--stack-prefix e2e] [--keep]
              [--config KEY=VALUE ...] [--report FILE] [--junit FILE] [--work-dir DIR]
              [--rollout-timeout S]
    pgiam e2e --sweep --older-than HOURS [--target local|aws] [--stack-prefix e2e]

Exit codes: 0 every step passed; 1 a step failed; 2 the run could not start (bad arguments, not
a Pulumi project, the aws target without its tools or credentials); 128+N after signal N
(130 Ctrl-C, 143 SIGTERM), teardown having run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pgiam.e2e.naming import check_prefix
from pgiam.errors import PgiamError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "e2e", help="one ephemeral stack: deploy, check in the pod, negative checks, teardown",
        description="Run one ephemeral stack through its whole life and report each step "
                    "(docs/e2e.md).")
    parser.add_argument("--target", choices=("local", "aws"), default="local",
                        help="local: the local cloud and engine (default); aws: a real account "
                             "through the Pulumi Automation API")
    parser.add_argument("--program", type=Path, default=Path("infra"),
                        help="the Pulumi program directory (default: infra)")
    parser.add_argument("--stack-prefix", default="e2e", metavar="PREFIX",
                        help="stack names are PREFIX-<UTC time>-<random> (default: e2e)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="stack configuration (repeatable; a key without namespace is the "
                             "project's), e.g. namespace=payments; the keys the run sets itself "
                             "(region, default tags, environment, masterPassword, CA bundle) "
                             "are refused")
    parser.add_argument("--keep", action="store_true",
                        help="do not tear the stack down (remove it later with --sweep)")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="JSON report (default: reports/e2e-<stack>.json); the JUnit XML "
                             "goes next to it with .xml unless --junit says otherwise")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="JUnit XML report")
    parser.add_argument("--work-dir", type=Path, metavar="DIR",
                        help="local target: where runs keep their state (default: "
                             "$PGIAM_E2E_HOME or $XDG_STATE_HOME/pgiam/e2e)")
    parser.add_argument("--rollout-timeout", type=float, default=90.0, metavar="SECONDS",
                        help="local target: how long step 3 waits for the pods (default: 90)")
    parser.add_argument("--image-command", action="append", default=[],
                        metavar="IMAGE=COMMAND",
                        help="local target: run COMMAND for pods of IMAGE (matched by "
                             "repository; {pod_ip} is the pod's address); the demo app's image "
                             "runs app/ without it (docs/program-contract.md)")
    parser.add_argument("--app-image", metavar="IMAGE",
                        help="aws target: the demo app's image in a registry EKS can pull from")
    parser.add_argument("--deployer-cidr", metavar="CIDR",
                        help="aws target: this machine's address block, allowed to reach the "
                             "database for the SQL setup (default: asked from "
                             "checkip.amazonaws.com)")
    parser.add_argument("--sweep", action="store_true",
                        help="destroy leftover stacks with the prefix instead of running")
    parser.add_argument("--older-than", type=float, metavar="HOURS",
                        help="with --sweep: only stacks older than this")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.set_defaults(func=main)


def _check_arguments(args: argparse.Namespace) -> None:
    check_prefix(args.stack_prefix)
    if args.sweep and args.older_than is None:
        raise PgiamError("--sweep needs --older-than HOURS")
    if args.older_than is not None and not args.sweep:
        raise PgiamError("--older-than only goes with --sweep")
    if args.older_than is not None and args.older_than < 0:
        raise PgiamError(f"--older-than {args.older_than:g}: must be 0 or more hours")
    if args.rollout_timeout <= 0:
        raise PgiamError("--rollout-timeout must be positive")


def main(args: argparse.Namespace) -> int:
    _check_arguments(args)
    if args.sweep:
        return _sweep(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pgiam.e2e.report import Progress, RunReport, junit_path_for
    from pgiam.e2e.run import RunFiles, Runner
    from pgiam.program.loader import load_project
    from pgiam.e2e.stack_config import check_required_config
    from pgiam.program.preflight import check_program_loads

    program = args.program.resolve()
    project = load_project(program)  # not a Pulumi project: exit 2 before anything starts
    check_program_loads(project)      # a program that cannot load: exit 2, nothing started
    config = _user_config(project, args.config, args.target)
    check_required_config(project, config, args.target)
    target: object
    if args.target == "aws":
        from pgiam.e2e.targets.aws import AwsOptions, AwsTarget

        target = AwsTarget(AwsOptions(program=program, prefix=args.stack_prefix,
                                      app_image=args.app_image,
                                      deployer_cidr=args.deployer_cidr, config=config))
    else:
        from pgiam.e2e.targets.local import LocalOptions, LocalTarget, default_work_root

        target = LocalTarget(LocalOptions(program=program, prefix=args.stack_prefix,
                                          work_root=(args.work_dir or default_work_root()
                                                     ).resolve(),
                                          rollout_timeout=args.rollout_timeout,
                                          config=config, images=_image_commands(args)))
    stack = target.stack  # type: ignore[attr-defined]
    report_path = args.report or Path("reports") / f"e2e-{stack}.json"
    files = RunFiles(report=report_path, junit=args.junit or junit_path_for(report_path))
    report = RunReport(target=args.target, stack=stack, program=str(args.program))
    runner = Runner(target, report, Progress(quiet=args.quiet), files,  # type: ignore[arg-type]
                    keep=args.keep)
    code = runner.execute()
    _exit_now(code)
    return code


def _user_config(project: object, items: list[str], target: str) -> dict[str, str]:
    """``--config`` as full keys; a key the run sets itself is refused (exit 2), since the
    run's value would silently win over it."""
    from pgiam.e2e.stack_config import run_config_keys
    from pgiam.program.loader import parse_config_overrides

    config = {project.full_key(key): value  # type: ignore[attr-defined]
              for key, value in parse_config_overrides(items).items()}
    reserved = sorted(set(config) & run_config_keys(project, target))
    if reserved:
        raise PgiamError(f"--config {', '.join(reserved)}: set by the e2e run itself "
                         f"(target {target}); leave it out")
    return config


def _image_commands(args: argparse.Namespace) -> dict[str, object]:
    from pgiam.e2e.engine.kube import KubeError, command_image

    images = {}
    for mapping in args.image_command:
        try:
            image = command_image(mapping)
        except KubeError as error:
            raise PgiamError(str(error)) from None
        images[image.repository] = image
    return images


def _exit_now(code: int) -> None:
    """Leave without the interpreter's shutdown: a run leaves hundreds of thousands of objects of
    the Pulumi runtime behind, whose teardown took 3-10 s here after everything was done
    (teardown verified, reports written). Output is flushed first; nothing else is pending."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _sweep(args: argparse.Namespace) -> int:
    if args.target == "aws":
        from pgiam.e2e.targets.aws import sweep

        results = sweep(args.program.resolve(), args.stack_prefix, args.older_than)
        for name, outcome in results:
            print(f"{name}: {outcome}")
        print(f"swept {sum(1 for _, o in results if o == 'swept')} stack(s)")
        return 1 if any(o.startswith("failed") for _, o in results) else 0

    from pgiam.e2e.engine.sweep import sweep
    from pgiam.e2e.targets.local import default_work_root

    root = (args.work_dir or default_work_root()).resolve()
    results = sweep(root, args.stack_prefix, args.older_than)
    for result in results:
        print(f"{result.stack} ({result.age_hours:.1f} h): {result.action}")
        for line in result.details:
            print(f"    {line}")
    swept = sum(1 for result in results if result.action == "swept")
    print(f"swept {swept} leftover run(s) under {root}")
    return 1 if any(result.action == "failed" for result in results) else 0
