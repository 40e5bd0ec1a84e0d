"""The inputs of :mod:`.reachability` read from the local cloud's APIs (boto3 clients passed in):
EC2's security groups, subnets, route tables and network ACLs; the database an endpoint name
belongs to (its security groups and DB subnet group); an EKS cluster's pod subnets and groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgiam.localcloud.network.reachability import Ec2State, Endpoint, Verdict, evaluate, node_subnets


def _all(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        answer = call(**params, **({"NextToken": token} if token else {}))
        items.extend(answer.get(key) or [])
        token = answer.get("NextToken")
        if not token:
            return items


def ec2_state(ec2: Any) -> Ec2State:
    return Ec2State(security_groups=_all(ec2.describe_security_groups, "SecurityGroups"),
                    subnets=_all(ec2.describe_subnets, "Subnets"),
                    route_tables=_all(ec2.describe_route_tables, "RouteTables"),
                    network_acls=_all(ec2.describe_network_acls, "NetworkAcls"))


def _subnets_of_group(rds: Any, name: str | None, state: Ec2State) -> tuple[tuple[str, ...], str]:
    """A DB subnet group's subnets and VPC; without one, RDS uses the default VPC's."""
    if name:
        group = rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
        return tuple(s["SubnetIdentifier"] for s in group.get("Subnets") or []), str(group.get("VpcId") or "")
    defaults = [s for s in state.subnets if s.get("DefaultForAz")]
    return tuple(s["SubnetId"] for s in defaults), str(defaults[0].get("VpcId", "")) if defaults else ""


def database_for_host(rds: Any, host: str, state: Ec2State) -> tuple[Endpoint, int] | None:
    """The database whose endpoint is ``host`` (a cluster's writer or reader, an instance's own)
    and its port; None when no database of this cloud has that name."""
    wanted = host.lower().rstrip(".")
    for cluster in _all(rds.describe_db_clusters, "DBClusters"):
        if wanted in {str(cluster.get("Endpoint", "")).lower(), str(cluster.get("ReaderEndpoint", "")).lower()}:
            return _endpoint(rds, f"cluster {cluster['DBClusterIdentifier']}", cluster.get("DBSubnetGroup"),
                             cluster.get("VpcSecurityGroups"), state), int(cluster.get("Port") or 5432)
    for instance in _all(rds.describe_db_instances, "DBInstances"):
        address = str((instance.get("Endpoint") or {}).get("Address", "")).lower()
        if wanted == address:
            group = (instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
            return (_endpoint(rds, f"instance {instance['DBInstanceIdentifier']}", group,
                              instance.get("VpcSecurityGroups"), state),
                    int((instance.get("Endpoint") or {}).get("Port") or 5432))
    return None


def _endpoint(rds: Any, label: str, subnet_group: str | None, groups: Any, state: Ec2State) -> Endpoint:
    subnets, vpc = _subnets_of_group(rds, subnet_group, state)
    return Endpoint(label, subnets, tuple(g["VpcSecurityGroupId"] for g in groups or []), vpc)


def pods_of_cluster(eks: Any, cluster_name: str, state: Ec2State) -> Endpoint:
    """Where an EKS cluster's pods are: its private subnets (see :func:`node_subnets`); their
    groups are the cluster's security group and the extra groups of its VPC config when EKS
    reports any, else unknown (the node groups' own, which the local engine does not make)."""
    config = eks.describe_cluster(name=cluster_name)["cluster"].get("resourcesVpcConfig") or {}
    groups = tuple(g for g in [config.get("clusterSecurityGroupId"), *(config.get("securityGroupIds") or [])]
                   if g)
    return Endpoint(f"the pods of EKS cluster {cluster_name}", node_subnets(state, config.get("subnetIds") or []),
                    groups or None, str(config.get("vpcId") or ""))


def pod_to_database(ec2: Any, rds: Any, eks: Any, cluster_name: str, host: str, port: int | None,
                    ) -> Verdict | None:
    """The verdict for a pod of ``cluster_name`` connecting to ``host:port``; None when ``host``
    is no database endpoint of this cloud (nothing to evaluate)."""
    state = ec2_state(ec2)
    found = database_for_host(rds, host, state)
    if found is None:
        return None
    database, database_port = found
    return evaluate(state, pods_of_cluster(eks, cluster_name, state), database, port or database_port)
