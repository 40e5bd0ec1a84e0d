"""Reads another stack's outputs, which an offline preview cannot."""

import pulumi

network = pulumi.StackReference("acme/network/prod")
pulumi.export("vpcId", network.get_output("vpcId"))
