"""Data sources (invokes) answered from the local cloud, with the shapes pulumi-aws returns.

``aws.iam.get_policy_document`` is pure (it renders JSON from its arguments), so it is answered
by the same renderer the mock runtime uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import answers


@answers("aws:index/getCallerIdentity:getCallerIdentity")
def caller_identity(ctx: EngineContext, args: Mapping[str, Any],
                    provider: Mapping[str, Any] | None) -> dict[str, Any]:
    answer = ctx.client("sts", ctx.region_of(provider)).get_caller_identity()
    return {"accountId": answer["Account"], "arn": answer["Arn"], "userId": answer["UserId"],
            "id": answer["Account"]}


def _partition_of(region_name: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, from botocore's endpoint data."""
    import boto3

    from pgiam.program.synth import DNS_SUFFIXES

    name = boto3.session.Session().get_partition_for_region(region_name)
    return name, DNS_SUFFIXES.get(name, "amazonaws.com")


@answers("aws:index/getRegion:getRegion")
def region(ctx: EngineContext, args: Mapping[str, Any],
           provider: Mapping[str, Any] | None) -> dict[str, Any]:
    name = str(args.get("region") or args.get("name") or ctx.region_of(provider))
    _, suffix = _partition_of(name)
    return {"region": name, "name": name, "id": name, "endpoint": f"ec2.{name}.{suffix}",
            "description": name}


@answers("aws:index/getPartition:getPartition")
def partition(ctx: EngineContext, args: Mapping[str, Any],
              provider: Mapping[str, Any] | None) -> dict[str, Any]:
    name, suffix = _partition_of(ctx.region_of(provider))
    return {"partition": name, "dnsSuffix": suffix,
            "reverseDnsPrefix": ".".join(reversed(suffix.split("."))), "id": name}


@answers("aws:index/getAvailabilityZones:getAvailabilityZones")
def availability_zones(ctx: EngineContext, args: Mapping[str, Any],
                       provider: Mapping[str, Any] | None) -> dict[str, Any]:
    filters = [{"Name": "state", "Values": [str(args["state"])]}] if args.get("state") else []
    zones = ctx.client("ec2", ctx.region_of(provider)).describe_availability_zones(
        Filters=filters)["AvailabilityZones"]
    excluded_names = set(args.get("excludeNames") or [])
    excluded_ids = set(args.get("excludeZoneIds") or [])
    kept = [zone for zone in zones if zone["ZoneName"] not in excluded_names
            and zone.get("ZoneId") not in excluded_ids]
    kept.sort(key=lambda zone: zone["ZoneName"])
    return {"names": [zone["ZoneName"] for zone in kept],
            "zoneIds": [zone.get("ZoneId", "") for zone in kept],
            "groupNames": [zone.get("GroupName", ctx.region_of(provider)) for zone in kept],
            "state": args.get("state") or "", "id": ctx.region_of(provider)}


@answers("aws:iam/getPolicyDocument:getPolicyDocument")
def policy_document(ctx: EngineContext, args: Mapping[str, Any],
                    provider: Mapping[str, Any] | None) -> dict[str, Any]:
    from pgiam.program.iam_policy_document import render_policy_document

    return render_policy_document(args)
