"""What the AWS handlers share: the client a resource's region calls, tags in AWS's shapes, ARNs,
and telling "it does not exist" apart from other API errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import CreateRequest
from pgiam.e2e.engine.state import ResourceEntry


def region_for(ctx: EngineContext, request: CreateRequest) -> str:
    return ctx.region_of(request.provider)


def client_for(ctx: EngineContext, entry: ResourceEntry, service: str) -> Any:
    return ctx.client(service, entry.data.get("region") or ctx.cloud.region)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_specifications(resource_type: str, tags: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)}] if tags else []


def arn(ctx: EngineContext, service: str, resource: str, region: str | None = None,
        *, regional: bool = True) -> str:
    where = (region or ctx.cloud.region) if regional else ""
    return f"arn:{ctx.cloud.partition}:{service}:{where}:{ctx.cloud.account_id}:{resource}"


def is_not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return "NotFound" in code or code in ("NoSuchEntity", "DBClusterNotFoundFault",
                                          "DBInstanceNotFound", "DBSubnetGroupNotFoundFault",
                                          "ResourceNotFoundException",
                                          "DBClusterParameterGroupNotFound",
                                          "DBParameterGroupNotFound")


def exists(call: Callable[[], Any], present: Callable[[Any], bool] = bool) -> bool:
    """``call()`` answers about the resource: False when AWS says it is not found (or
    ``present(answer)`` is false, e.g. a NAT gateway in state ``deleted``)."""
    try:
        answer = call()
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return present(answer)


def delete_quietly(call: Callable[[], Any]) -> None:
    """Run a delete call; a resource already gone is fine."""
    try:
        call()
    except ClientError as error:
        if not is_not_found(error):
            raise


def truthy(value: Any) -> bool:
    """Provider inputs arrive as strings at times (``"false"``)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
