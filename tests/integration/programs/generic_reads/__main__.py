"""Reads existing resources (``Vpc.get``, ``Service.get`` with an id built from a Helm release's
status), indexes a resource's map output (``GraphQLApi.uris``) and a list output
(``Certificate.domain_validation_options``): every value the code touches must exist after up."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

vpc = aws.ec2.Vpc.get("shared", "vpc-0a1b2c3d4e5f60718")
release = k8s.helm.v3.Release("cache", chart="redis", version="19.0.1",
                              repository_opts={"repo": "https://charts.example.com"})
service = k8s.core.v1.Service.get(
    "cache-master", pulumi.Output.concat(release.status.namespace, "/", release.status.name,
                                         "-master"))
api = aws.appsync.GraphQLApi("api", authentication_type="API_KEY", name="api")
cert = aws.acm.Certificate("api", domain_name="api.example.com", validation_method="DNS")

pulumi.export("vpc_cidr", vpc.cidr_block.apply(lambda cidr: cidr.split("/")[0]))
pulumi.export("cache", pulumi.Output.concat(service.metadata.name, ":", service.spec.cluster_ip))
pulumi.export("graphql", api.uris["GRAPHQL"])
pulumi.export("validation", cert.domain_validation_options[0].resource_record_name)
