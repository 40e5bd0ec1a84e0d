"""Would a pod's connection to a database get through on AWS? Pure evaluation (no I/O) of the
EC2 state moto holds, as ``describe_*`` answers it: the database's security groups (ingress),
the pods' security groups (egress), the routes between their subnets when the VPCs differ, and
the network ACLs of both subnets (stateless: the answer's ephemeral ports too).

A pod's address is any address of its subnets (the VPC CNI gives pods addresses of the nodes'
subnets), so a CIDR rule admits the pods only if it covers every pod subnet whole; a rule that
names a security group admits the pods if they carry that group. The database may be in any of
its subnets (failover moves the writer), so every database subnet must be reachable.

Hand-written: no library evaluates EC2 security groups and network ACLs offline (AWS's own
Reachability Analyzer is a service). Rules follow the EC2 User Guide: security groups are
stateful allow-lists (the union of all rules of all groups of an interface); a network ACL's
rules are evaluated in rule-number order, first match wins, then the implicit deny; traffic
inside one subnet is not filtered by its ACL; a VPC's ``local`` route joins its subnets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Network = ipaddress.IPv4Network
EPHEMERAL_PORTS = (32768, 60999)  # Linux's default local port range: the pod's side of the answer
ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class Ec2State:
    """What ``describe_security_groups``, ``describe_subnets``, ``describe_route_tables`` and
    ``describe_network_acls`` answered (their items, unchanged)."""

    security_groups: Sequence[Mapping[str, Any]] = ()
    subnets: Sequence[Mapping[str, Any]] = ()
    route_tables: Sequence[Mapping[str, Any]] = ()
    network_acls: Sequence[Mapping[str, Any]] = ()

    def group(self, group_id: str) -> Mapping[str, Any] | None:
        return next((g for g in self.security_groups if g.get("GroupId") == group_id), None)

    def default_group(self, vpc_id: str) -> Mapping[str, Any] | None:
        return next((g for g in self.security_groups
                     if g.get("VpcId") == vpc_id and g.get("GroupName") == "default"), None)

    def subnet(self, subnet_id: str) -> Mapping[str, Any] | None:
        return next((s for s in self.subnets if s.get("SubnetId") == subnet_id), None)


@dataclass(frozen=True)
class Endpoint:
    """One side of the connection: a label for messages, its subnets and its security groups
    (None: not known, e.g. the pods' node groups that the local engine does not create)."""

    label: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] | None = None
    vpc_id: str = ""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    layer: str = ""  # "security-group-ingress", "security-group-egress", "route", "network-acl", "subnet"
    details: tuple[str, ...] = field(default=())


class _Refused(Exception):
    def __init__(self, layer: str, reason: str) -> None:
        super().__init__(reason)
        self.layer = layer
        self.reason = reason


# -- rules --------------------------------------------------------------------------------------

def _protocol_matches(protocol: Any) -> bool:
    return str(protocol).lower() in ("-1", "all", "tcp", "6")


def _ports(permission: Mapping[str, Any]) -> tuple[int, int]:
    if str(permission.get("IpProtocol", "")).lower() in ("-1", "all"):
        return ALL_PORTS
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if low in (None, -1) and high in (None, -1):
        return ALL_PORTS
    return int(low), int(high)


def _covers(networks: Iterable[Network], target: Network) -> bool:
    """Whether the union of ``networks`` holds every address of ``target``."""
    merged = list(ipaddress.collapse_addresses(n for n in networks if n.version == 4))
    remaining = [target]
    for network in merged:
        next_remaining: list[Network] = []
        for piece in remaining:
            if piece.subnet_of(network):
                continue
            if network.subnet_of(piece):
                next_remaining.extend(piece.address_exclude(network))
            else:
                next_remaining.append(piece)
        remaining = next_remaining
        if not remaining:
            return True
    return not remaining


def _cidrs(permission: Mapping[str, Any]) -> list[Network]:
    found = []
    for item in permission.get("IpRanges") or []:
        try:
            found.append(ipaddress.IPv4Network(item.get("CidrIp", ""), strict=False))
        except ValueError:
            continue
    return found


def _group_refs(permission: Mapping[str, Any]) -> set[str]:
    return {pair.get("GroupId", "") for pair in permission.get("UserIdGroupPairs") or []}


def _matching(permissions: Iterable[Mapping[str, Any]], port: int) -> list[Mapping[str, Any]]:
    found = []
    for permission in permissions:
        low, high = _ports(permission)
        if _protocol_matches(permission.get("IpProtocol")) and low <= port <= high:
            found.append(permission)
    return found


def describe_rules(group: Mapping[str, Any], key: str) -> str:
    """A group's rules in one phrase, for messages: ``tcp 5432 from 10.9.0.0/16, sg-1``."""
    parts = []
    for permission in group.get(key) or []:
        protocol = str(permission.get("IpProtocol", "")).lower()
        low, high = _ports(permission)
        what = "all traffic" if protocol in ("-1", "all") else (
            f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}")
        sources = [str(n) for n in _cidrs(permission)] + sorted(_group_refs(permission))
        sources += [p.get("CidrIpv6", "") for p in permission.get("Ipv6Ranges") or []]
        sources += [p.get("PrefixListId", "") for p in permission.get("PrefixListIds") or []]
        parts.append(f"{what} {'from' if key == 'IpPermissions' else 'to'} {', '.join(sources) or 'nothing'}")
    return "; ".join(parts) or "nothing"


# -- the layers -----------------------------------------------------------------------------------

def _groups(state: Ec2State, endpoint: Endpoint, vpc_id: str) -> list[Mapping[str, Any]]:
    if endpoint.security_group_ids:
        groups = [state.group(g) for g in endpoint.security_group_ids]
        missing = [g for g, found in zip(endpoint.security_group_ids, groups) if found is None]
        if missing:
            raise _Refused("security-group-ingress", f"security group {missing[0]} of {endpoint.label} does "
                           "not exist")
        return [g for g in groups if g is not None]
    default = state.default_group(vpc_id)
    return [default] if default is not None else []


def _check_ingress(state: Ec2State, pods: Endpoint, pod_net: Network, pod_subnet: str,
                   database: Endpoint, groups: Sequence[Mapping[str, Any]], port: int) -> None:
    pod_groups = set(pods.security_group_ids or ())
    cidrs: list[Network] = []
    for group in groups:
        for permission in _matching(group.get("IpPermissions") or [], port):
            if _group_refs(permission) & pod_groups:
                return
            cidrs.extend(_cidrs(permission))
    if _covers(cidrs, pod_net):
        return
    names = ", ".join(g.get("GroupId", "?") for g in groups) or "(none: the VPC has no default group)"
    admitted = "; ".join(f"{g.get('GroupId')}: {describe_rules(g, 'IpPermissions')}" for g in groups)
    raise _Refused("security-group-ingress",
                   f"security group {names} of {database.label} admits {admitted or 'nothing'}; "
                   f"the pods' subnet {pod_subnet} ({pod_net}) is not covered for tcp {port}")


def _check_egress(state: Ec2State, pods: Endpoint, db_net: Network, db_subnet: str,
                  database_groups: Sequence[Mapping[str, Any]], port: int) -> None:
    if pods.security_group_ids is None:
        return  # the node groups' default: all egress (pulumi-eks and EKS managed node groups)
    groups = [state.group(g) for g in pods.security_group_ids]
    targets = {g.get("GroupId") for g in database_groups}
    cidrs: list[Network] = []
    for group in (g for g in groups if g is not None):
        for permission in _matching(group.get("IpPermissionsEgress") or [], port):
            if _group_refs(permission) & targets:
                return
            cidrs.extend(_cidrs(permission))
    if _covers(cidrs, db_net):
        return
    allowed = "; ".join(f"{g.get('GroupId')}: {describe_rules(g, 'IpPermissionsEgress')}"
                        for g in groups if g is not None)
    raise _Refused("security-group-egress",
                   f"the pods' security groups let out {allowed or 'nothing'}; the database subnet "
                   f"{db_subnet} ({db_net}) is not covered for tcp {port}")


def _route_table(state: Ec2State, subnet_id: str, vpc_id: str) -> Mapping[str, Any] | None:
    main = None
    for table in state.route_tables:
        for association in table.get("Associations") or []:
            if association.get("SubnetId") == subnet_id:
                return table
            if association.get("Main") and table.get("VpcId") == vpc_id:
                main = table
    return main


def _check_route(state: Ec2State, source_subnet: str, source_vpc: str, destination: Network,
                 destination_vpc: str, what: str) -> None:
    if source_vpc == destination_vpc:
        return  # the VPC's local route
    table = _route_table(state, source_subnet, source_vpc)
    for route in (table or {}).get("Routes") or []:
        try:
            covered = destination.subnet_of(ipaddress.IPv4Network(route.get("DestinationCidrBlock", ""),
                                                                  strict=False))
        except ValueError:
            continue
        if covered and (route.get("VpcPeeringConnectionId") or route.get("TransitGatewayId")) and \
                route.get("State", "active") == "active":
            return
    raise _Refused("route", f"{what}: subnet {source_subnet} (VPC {source_vpc}) has no route to {destination} "
                   f"in VPC {destination_vpc} (a peering or transit gateway route is needed)")


def _acl(state: Ec2State, subnet_id: str, vpc_id: str) -> Mapping[str, Any] | None:
    default = None
    for acl in state.network_acls:
        if any(a.get("SubnetId") == subnet_id for a in acl.get("Associations") or []):
            return acl
        if acl.get("IsDefault") and acl.get("VpcId") == vpc_id:
            default = acl
    return default


def _acl_allows(acl: Mapping[str, Any], *, egress: bool, peer: Network, ports: tuple[int, int]) -> str | None:
    """None if ``acl`` lets all of ``peer`` through on every port of ``ports``; else the rule
    that stops it."""
    entries = sorted((e for e in acl.get("Entries") or [] if bool(e.get("Egress")) == egress),
                     key=lambda e: int(e.get("RuleNumber", 32767)))
    for entry in entries:
        if not _protocol_matches(entry.get("Protocol")):
            continue
        try:
            cidr = ipaddress.IPv4Network(entry.get("CidrBlock", ""), strict=False)
        except ValueError:
            continue
        port_range = entry.get("PortRange") or {}
        low = int(port_range.get("From", 0)) if port_range else 0
        high = int(port_range.get("To", 65535)) if port_range else 65535
        if str(entry.get("Protocol")) in ("-1", "all"):
            low, high = ALL_PORTS
        if not cidr.overlaps(peer) or high < ports[0] or low > ports[1]:
            continue
        whole = peer.subnet_of(cidr) and low <= ports[0] and high >= ports[1]
        if entry.get("RuleAction") == "deny":
            return f"rule {entry.get('RuleNumber')} denies {cidr} ports {low}-{high}"
        if whole:
            return None
    return "no rule allows it (the implicit deny)"


def _check_acls(state: Ec2State, pod_subnet: str, pod_net: Network, pod_vpc: str, db_subnet: str,
                db_net: Network, db_vpc: str, port: int) -> None:
    if pod_subnet == db_subnet:
        return
    legs = ((pod_subnet, pod_vpc, True, db_net, (port, port), "the pods' request out of"),
            (db_subnet, db_vpc, False, pod_net, (port, port), "the pods' request into"),
            (db_subnet, db_vpc, True, pod_net, EPHEMERAL_PORTS, "the database's answer out of"),
            (pod_subnet, pod_vpc, False, db_net, EPHEMERAL_PORTS, "the database's answer into"))
    for subnet, vpc, egress, peer, ports, what in legs:
        acl = _acl(state, subnet, vpc)
        if acl is None:
            continue
        stopped = _acl_allows(acl, egress=egress, peer=peer, ports=ports)
        if stopped:
            raise _Refused("network-acl", f"network ACL {acl.get('NetworkAclId')} stops {what} subnet {subnet}: "
                           f"{stopped} (ports {ports[0]}-{ports[1]}, {'to' if egress else 'from'} {peer})")


# -- the evaluation -------------------------------------------------------------------------------

def _subnet_network(state: Ec2State, subnet_id: str, label: str) -> tuple[Network, str]:
    subnet = state.subnet(subnet_id)
    if subnet is None:
        raise _Refused("subnet", f"subnet {subnet_id} of {label} does not exist")
    return ipaddress.IPv4Network(subnet["CidrBlock"], strict=False), str(subnet.get("VpcId", ""))


def evaluate(state: Ec2State, pods: Endpoint, database: Endpoint, port: int) -> Verdict:
    """Whether every pod subnet reaches every database subnet on tcp ``port``; the first layer
    that stops it names the group, rule or route."""
    if not pods.subnet_ids:
        return Verdict(False, f"{pods.label} have no subnets", "subnet")
    if not database.subnet_ids:
        return Verdict(False, f"{database.label} has no subnets (no DB subnet group)", "subnet")
    try:
        db_nets = [(s, *_subnet_network(state, s, database.label)) for s in database.subnet_ids]
        db_vpc = database.vpc_id or db_nets[0][2]
        groups = _groups(state, database, db_vpc)
        for pod_subnet in pods.subnet_ids:
            pod_net, pod_vpc = _subnet_network(state, pod_subnet, pods.label)
            _check_ingress(state, pods, pod_net, pod_subnet, database, groups, port)
            for db_subnet, db_net, subnet_vpc in db_nets:
                _check_egress(state, pods, db_net, db_subnet, groups, port)
                _check_route(state, pod_subnet, pod_vpc, db_net, subnet_vpc, "the pods' request")
                _check_route(state, db_subnet, subnet_vpc, pod_net, pod_vpc, "the database's answer")
                _check_acls(state, pod_subnet, pod_net, pod_vpc, db_subnet, db_net, subnet_vpc, port)
    except _Refused as refused:
        return Verdict(False, refused.reason, refused.layer)
    return Verdict(True, f"{pods.label} reach {database.label} on tcp {port}: "
                   f"admitted by {', '.join(g.get('GroupId', '?') for g in groups) or 'the VPC default group'}")


def node_subnets(state: Ec2State, subnet_ids: Sequence[str]) -> tuple[str, ...]:
    """Where an EKS cluster's pods get their addresses: its private subnets (no default route to
    an internet gateway), where pulumi-eks and managed node groups put nodes when a cluster has
    both; all of its subnets when none is private."""
    private = []
    for subnet_id in subnet_ids:
        subnet = state.subnet(subnet_id)
        table = _route_table(state, subnet_id, str((subnet or {}).get("VpcId", "")))
        public = any(str(r.get("GatewayId", "")).startswith("igw-") and
                     r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in (table or {}).get("Routes") or [])
        if not public:
            private.append(subnet_id)
    return tuple(private) or tuple(subnet_ids)
