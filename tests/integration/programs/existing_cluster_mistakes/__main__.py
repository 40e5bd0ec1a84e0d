"""An application team's stack: the EKS cluster, its OIDC provider and the Aurora cluster belong
to the platform team and are looked up with data sources (``aws.eks.get_cluster``,
``aws.iam.get_open_id_connect_provider``, ``aws.rds.get_cluster``), so every value is known at
preview. Each resource is named for its mistake; ``good-*`` ones make none."""

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s

account = aws.get_caller_identity().account_id
region = aws.get_region().region
cluster = aws.eks.get_cluster(name="platform")
issuer_url = cluster.identities[0].oidcs[0].issuer
issuer = issuer_url.removeprefix("https://")
provider = aws.iam.get_open_id_connect_provider(url=issuer_url)
database = aws.rds.get_cluster(cluster_identifier="orders")


def trust(operator, subject):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider.arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"}} | {
            operator: {f"{issuer}:sub": subject,
                       **({f"{issuer}:aud": "sts.amazonaws.com"}
                          if operator == "StringEquals" else {})}}}]})


def connect(resource_id, user="orders_app"):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"}]})


orders = aws.iam.Role("good-orders", assume_role_policy=trust(
    "StringEquals", "system:serviceaccount:orders:api"))
aws.iam.RolePolicy("good-orders-connect", role=orders.id,
                   policy=connect(database.cluster_resource_id))
aws.iam.RolePolicy("identifier-connect", role=orders.id,
                   policy=connect(database.cluster_identifier, "orders_reporting"))
aws.iam.Role("namespace-wildcard", assume_role_policy=trust(
    "StringLike", "system:serviceaccount:orders:*"))
k8s.core.v1.ServiceAccount("good-api", metadata={
    "name": "api", "namespace": "orders",
    "annotations": {"eks.amazonaws.com/role-arn": orders.arn}})
