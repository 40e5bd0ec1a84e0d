"""Look-ups in the handler registry, above the handlers.

The engine's modules form layers (pinned by ``tests/unit/e2e/test_e2e_engine_layers.py``):
contracts and state at the bottom (``resources``, ``state``, ``kube``, ``processes``, ...),
the context and clients above them, the resource handlers above those, and this catalog with
the mock runtime (``mocks``) and teardown (``destroy``) at the top. Only this module imports the
handler modules, so registering a new handler is one line here and never an import circle.
"""

from __future__ import annotations

from pgiam.e2e.engine.resources import (
    DATA_SOURCES,
    HANDLERS,
    DataSource,
    Handler,
    UnknownDataSource,
    UnknownResourceType,
)


def load_handlers() -> None:
    """Import every handler module (each registers itself)."""
    from pgiam.e2e.engine import (  # noqa: F401
        aws_ec2,
        aws_eks,
        aws_eks_pod_identity,
        aws_iam,
        aws_rds,
        aws_vpc,
        data_sources,
        eks,
        kubernetes,
        postgresql,
        providers,
        random_values,
    )


def handler_for(type_: str, name: str) -> Handler:
    load_handlers()
    handler = HANDLERS.get(type_)
    if handler is None:
        raise UnknownResourceType(type_, name)
    return handler


def data_source_for(token: str) -> DataSource:
    load_handlers()
    found = DATA_SOURCES.get(token)
    if found is None:
        raise UnknownDataSource(token)
    return found


def is_handled(type_: str) -> bool:
    load_handlers()
    return type_ in HANDLERS


def handler_of_entry(type_: str) -> Handler | None:
    """The registered handler for a recorded resource's type, or None (teardown)."""
    load_handlers()
    return HANDLERS.get(type_)
