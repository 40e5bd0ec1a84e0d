"""The pod-to-database network model (issue 12 §4): security groups, routes and network ACLs as
``describe_*`` answers them, evaluated the way AWS would let the connection through or not. Each
refusal has the control it differs from by one rule."""

from __future__ import annotations

import copy

import pytest

from pgiam.localcloud.network.reachability import Ec2State, Endpoint, evaluate, node_subnets

pytestmark = pytest.mark.unit

PORT = 5432


def tcp(low: int, high: int | None = None, *, cidrs=(), groups=(), protocol: str = "tcp") -> dict:
    permission = {"IpProtocol": protocol, "IpRanges": [{"CidrIp": c} for c in cidrs],
                  "UserIdGroupPairs": [{"GroupId": g} for g in groups]}
    if protocol not in ("-1", "all"):
        permission.update(FromPort=low, ToPort=low if high is None else high)
    return permission


def group(group_id: str, ingress=(), egress=(), vpc: str = "vpc-a", name: str | None = None) -> dict:
    return {"GroupId": group_id, "GroupName": name or group_id, "VpcId": vpc, "IpPermissions": list(ingress),
            "IpPermissionsEgress": list(egress)}


ALL_OUT = tcp(0, protocol="-1", cidrs=["0.0.0.0/0"])


def base_state(db_ingress, *, pod_egress=(ALL_OUT,), extra_groups=()) -> Ec2State:
    return Ec2State(
        security_groups=[group("sg-db", db_ingress), group("sg-node", egress=pod_egress),
                         group("sg-default", [tcp(0, protocol="-1", groups=["sg-default"])], [ALL_OUT],
                               name="default"), *extra_groups],
        subnets=[{"SubnetId": "subnet-pod1", "CidrBlock": "10.0.1.0/24", "VpcId": "vpc-a"},
                 {"SubnetId": "subnet-pod2", "CidrBlock": "10.0.2.0/24", "VpcId": "vpc-a"},
                 {"SubnetId": "subnet-db1", "CidrBlock": "10.0.101.0/24", "VpcId": "vpc-a"},
                 {"SubnetId": "subnet-db2", "CidrBlock": "10.0.102.0/24", "VpcId": "vpc-a"},
                 {"SubnetId": "subnet-pub", "CidrBlock": "10.0.200.0/24", "VpcId": "vpc-a"}],
        route_tables=[{"RouteTableId": "rtb-main", "VpcId": "vpc-a", "Associations": [{"Main": True}],
                       "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}]},
                      {"RouteTableId": "rtb-pub", "VpcId": "vpc-a",
                       "Associations": [{"SubnetId": "subnet-pub"}],
                       "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}]}],
        network_acls=[{"NetworkAclId": "acl-default", "VpcId": "vpc-a", "IsDefault": True, "Associations": [],
                       "Entries": [{"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": e,
                                    "CidrBlock": "0.0.0.0/0"} for e in (False, True)]}])


PODS = Endpoint("the pods of cluster demo", ("subnet-pod1", "subnet-pod2"), ("sg-node",))
PODS_UNKNOWN_GROUPS = Endpoint("the pods of cluster demo", ("subnet-pod1", "subnet-pod2"), None)
DB = Endpoint("cluster db1", ("subnet-db1", "subnet-db2"), ("sg-db",))


@pytest.mark.parametrize("rules", [
    [tcp(PORT, cidrs=["10.0.0.0/16"])],                          # the VPC
    [tcp(PORT, cidrs=["0.0.0.0/0"])],                            # anywhere
    [tcp(5000, 6000, cidrs=["10.0.0.0/8"])],                     # a port range
    [tcp(0, protocol="-1", cidrs=["10.0.0.0/16"])],              # protocol -1 (all traffic)
    [tcp(PORT, cidrs=["10.0.1.0/24"]), tcp(PORT, cidrs=["10.0.2.0/24"])],  # one rule per subnet
    [tcp(PORT, cidrs=["10.0.0.0/23", "10.0.2.0/23"])],           # union of two CIDRs in one rule
    [tcp(PORT, groups=["sg-node"])],                             # the pods' security group
], ids=["vpc", "anywhere", "port-range", "all-protocols", "rule-per-subnet", "cidr-union", "sg-reference"])
def test_rules_that_admit_the_pods(rules):
    verdict = evaluate(base_state(rules), PODS, DB, PORT)
    assert verdict.allowed, verdict.reason


@pytest.mark.parametrize("rules,missing", [
    ([tcp(PORT, cidrs=["10.9.0.0/16"])], "10.9.0.0/16"),                       # another CIDR
    ([tcp(PORT, cidrs=["10.0.1.0/24"])], "subnet-pod2"),                       # one pod subnet only
    ([tcp(3306, cidrs=["10.0.0.0/16"])], "tcp 3306"),                           # another port
    ([tcp(5433, 6000, cidrs=["10.0.0.0/16"])], "tcp 5433-6000"),                # a range beside it
    ([tcp(PORT, cidrs=["10.0.0.0/16"], protocol="udp")], "udp"),                # another protocol
    ([tcp(PORT, groups=["sg-other"])], "sg-other"),                             # a group the pods lack
    ([], "nothing"),                                                            # no ingress at all
], ids=["other-cidr", "partial-cover", "other-port", "other-range", "udp", "other-sg", "none"])
def test_rules_that_do_not_admit_the_pods_name_what_is_missing(rules, missing):
    verdict = evaluate(base_state(rules), PODS, DB, PORT)
    assert not verdict.allowed and verdict.layer == "security-group-ingress"
    assert "sg-db" in verdict.reason and "cluster db1" in verdict.reason and missing in verdict.reason
    assert "10.0.1.0/24" in verdict.reason or "10.0.2.0/24" in verdict.reason


def test_the_message_says_which_rule_admits_what_and_which_pod_subnet_is_left_out():
    verdict = evaluate(base_state([tcp(PORT, cidrs=["10.9.0.0/16"])]), PODS, DB, PORT)
    assert verdict.reason == ("security group sg-db of cluster db1 admits sg-db: tcp 5432 from 10.9.0.0/16; "
                              "the pods' subnet subnet-pod1 (10.0.1.0/24) is not covered for tcp 5432")


def test_rules_of_several_groups_add_up():
    state = base_state([tcp(PORT, cidrs=["10.0.1.0/24"])],
                       extra_groups=[group("sg-db2", [tcp(PORT, cidrs=["10.0.2.0/24"])])])
    both = Endpoint("cluster db1", DB.subnet_ids, ("sg-db", "sg-db2"))
    assert evaluate(state, PODS, both, PORT).allowed
    assert not evaluate(state, PODS, DB, PORT).allowed


def test_separate_rule_resources_land_in_the_same_group_rules():
    # aws.ec2.SecurityGroupRule and aws.vpc.SecurityGroupIngressRule both become the group's
    # IpPermissions in EC2 (AuthorizeSecurityGroupIngress): the same answer as inline rules.
    state = base_state([])
    added = copy.deepcopy(state)
    next(g for g in added.security_groups if g["GroupId"] == "sg-db")["IpPermissions"].append(
        tcp(PORT, cidrs=["10.0.0.0/16"]))
    assert not evaluate(state, PODS, DB, PORT).allowed
    assert evaluate(added, PODS, DB, PORT).allowed


def test_restricted_egress_of_the_pods_is_refused_and_a_group_reference_lets_them_out():
    only_https = base_state([tcp(PORT, groups=["sg-node"])], pod_egress=[tcp(443, cidrs=["0.0.0.0/0"])])
    verdict = evaluate(only_https, PODS, DB, PORT)
    assert not verdict.allowed and verdict.layer == "security-group-egress"
    assert "tcp 443 to 0.0.0.0/0" in verdict.reason and "subnet-db1" in verdict.reason
    to_db = base_state([tcp(PORT, groups=["sg-node"])], pod_egress=[tcp(PORT, groups=["sg-db"])])
    assert evaluate(to_db, PODS, DB, PORT).allowed
    to_subnets = base_state([tcp(PORT, groups=["sg-node"])], pod_egress=[tcp(PORT, cidrs=["10.0.100.0/22"])])
    assert evaluate(to_subnets, PODS, DB, PORT).allowed


def test_unknown_pod_groups_keep_the_node_groups_default_egress_but_not_a_group_reference():
    assert evaluate(base_state([tcp(PORT, cidrs=["10.0.0.0/16"])]), PODS_UNKNOWN_GROUPS, DB, PORT).allowed
    assert not evaluate(base_state([tcp(PORT, groups=["sg-node"])]), PODS_UNKNOWN_GROUPS, DB, PORT).allowed


def test_a_database_without_groups_gets_the_vpc_default_group_which_admits_only_its_members():
    no_groups = Endpoint("cluster db1", DB.subnet_ids, (), "vpc-a")
    verdict = evaluate(base_state([]), PODS, no_groups, PORT)
    assert not verdict.allowed and "sg-default" in verdict.reason
    members = Endpoint("the pods", PODS.subnet_ids, ("sg-node", "sg-default"))
    assert evaluate(base_state([]), members, no_groups, PORT).allowed


def test_a_missing_group_or_subnet_is_named():
    gone = Endpoint("cluster db1", DB.subnet_ids, ("sg-deleted",))
    assert "sg-deleted" in evaluate(base_state([]), PODS, gone, PORT).reason
    nowhere = Endpoint("cluster db1", ("subnet-gone",), ("sg-db",))
    verdict = evaluate(base_state([tcp(PORT, cidrs=["0.0.0.0/0"])]), PODS, nowhere, PORT)
    assert not verdict.allowed and "subnet-gone" in verdict.reason


def _with_acl(state: Ec2State, subnet: str, entries: list[dict]) -> Ec2State:
    acl = {"NetworkAclId": "acl-custom", "VpcId": "vpc-a", "IsDefault": False,
           "Associations": [{"SubnetId": subnet}], "Entries": entries}
    return Ec2State(state.security_groups, state.subnets, state.route_tables, [*state.network_acls, acl])


def _entry(number, action, egress, cidr, low=None, high=None, protocol="6"):
    entry = {"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": egress, "CidrBlock": cidr}
    if low is not None:
        entry["PortRange"] = {"From": low, "To": high if high is not None else low}
    return entry


def test_network_acls_are_stateless_and_first_match_wins():
    admitted = base_state([tcp(PORT, cidrs=["10.0.0.0/16"])])
    inbound_only = _with_acl(admitted, "subnet-db1", [
        _entry(100, "allow", False, "10.0.0.0/16", PORT), _entry(100, "allow", True, "10.0.0.0/16", PORT)])
    verdict = evaluate(inbound_only, PODS, DB, PORT)
    assert not verdict.allowed and verdict.layer == "network-acl" and "answer out of subnet subnet-db1" in verdict.reason
    with_answer = _with_acl(admitted, "subnet-db1", [
        _entry(100, "allow", False, "10.0.0.0/16", PORT), _entry(100, "allow", True, "10.0.0.0/16", 1024, 65535)])
    assert evaluate(with_answer, PODS, DB, PORT).allowed
    denied_first = _with_acl(admitted, "subnet-db1", [
        _entry(50, "deny", False, "10.0.2.0/24", PORT), _entry(100, "allow", False, "0.0.0.0/0", protocol="-1"),
        _entry(100, "allow", True, "0.0.0.0/0", protocol="-1")])
    verdict = evaluate(denied_first, PODS, DB, PORT)
    assert not verdict.allowed and "rule 50 denies 10.0.2.0/24" in verdict.reason


def test_another_vpc_needs_a_peering_route_both_ways():
    state = base_state([tcp(PORT, cidrs=["10.0.0.0/8"])])
    peered_subnets = [*state.subnets, {"SubnetId": "subnet-other", "CidrBlock": "10.1.1.0/24", "VpcId": "vpc-b"}]
    other_vpc_db = Endpoint("cluster db1", ("subnet-other",), ("sg-db",))
    alone = Ec2State(state.security_groups, peered_subnets, state.route_tables, state.network_acls)
    verdict = evaluate(alone, PODS, other_vpc_db, PORT)
    assert not verdict.allowed and verdict.layer == "route" and "vpc-b" in verdict.reason
    tables = [copy.deepcopy(t) for t in state.route_tables]
    tables[0]["Routes"].append({"DestinationCidrBlock": "10.1.0.0/16", "VpcPeeringConnectionId": "pcx-1"})
    tables.append({"RouteTableId": "rtb-b", "VpcId": "vpc-b", "Associations": [{"Main": True}],
                   "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "VpcPeeringConnectionId": "pcx-1"}]})
    peered = Ec2State(state.security_groups, peered_subnets, tables, state.network_acls)
    assert evaluate(peered, PODS, other_vpc_db, PORT).allowed


def test_pods_live_in_the_private_subnets_of_the_cluster():
    state = base_state([])
    assert node_subnets(state, ("subnet-pub", "subnet-pod1")) == ("subnet-pod1",)
    assert node_subnets(state, ("subnet-pub",)) == ("subnet-pub",)


def test_garbage_rules_never_raise():
    odd = base_state([{"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT,
                       "IpRanges": [{"CidrIp": "not-a-cidr"}, {}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
                       "PrefixListIds": [{"PrefixListId": "pl-1"}]}])
    verdict = evaluate(odd, PODS, DB, PORT)
    assert not verdict.allowed and "pl-1" in verdict.reason and "::/0" in verdict.reason
