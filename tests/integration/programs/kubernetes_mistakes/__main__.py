"""Kubernetes objects, each named for its mistake (``good-*``: none), inside a component with an
explicit Kubernetes provider, as real programs are organised."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
account = aws.get_caller_identity().account_id
trusted = "system:serviceaccount:shop:api"
role = aws.iam.Role("api-irsa", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:sub": trusted,
                                       f"{ISSUER}:aud": "sts.amazonaws.com"}}}]}))


def pod(containers, service_account=None):
    spec = {"containers": containers}
    if service_account:
        spec["serviceAccountName"] = service_account
    return spec


class Shop(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("shop:index:Shop", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app": name}
        k8s.core.v1.ServiceAccount("good-api-sa", metadata={
            "name": "api", "namespace": "shop",
            "annotations": {"eks.amazonaws.com/role-arn": role.arn}}, opts=child)
        k8s.core.v1.ServiceAccount("wrong-sa-for-role", metadata={
            "name": "worker", "namespace": "shop",
            "annotations": {"eks.amazonaws.com/role-arn": role.arn}}, opts=child)
        k8s.apps.v1.Deployment("good-api", metadata={"namespace": "shop"}, spec={
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod([{
                "name": "api", "image": "api:1",
                "env": [{"name": "PGHOST", "value": "db.example"},
                        {"name": "PGSSLMODE", "value": "verify-full"},
                        {"name": "AWS_REGION", "value": "eu-west-1"}]}], "api")}}, opts=child)
        k8s.apps.v1.Deployment("default-sa-and-keys", metadata={"namespace": "shop"}, spec={
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod([{
                "name": "api", "image": "api:1",
                "env": [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
                        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {
                            "name": "aws", "key": "secret"}}},
                        {"name": "DB_HOST", "value": "db.example"},
                        {"name": "PGSSLMODE", "value": "require"}]}])}}, opts=child)
        k8s.batch.v1.CronJob("prefer-in-url", metadata={"namespace": "shop"}, spec={
            "schedule": "0 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {
                "serviceAccountName": "api", "restartPolicy": "Never",
                "containers": [{"name": "report", "image": "report:1", "env": [
                    {"name": "DATABASE_URL",
                     "value": "postgresql://reporting@db.example/app?sslmode=prefer"}]}]}}}}},
            opts=child)
        k8s.core.v1.Pod("libpq-default-prefer", metadata={"namespace": "shop"}, spec=pod([{
            "name": "psql", "image": "postgres:16",
            "env": [{"name": "PGHOST", "value": "db.example"}]}], "api"), opts=child)
        k8s.core.v1.Secret("static-keys-secret", metadata={"namespace": "shop"}, string_data={
            "credentials": "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                           "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"},
            opts=child)
        k8s.core.v1.ConfigMap("disable-sslmode-config", metadata={"namespace": "shop"},
                              data={"PGSSLMODE": "disable"}, opts=child)
        k8s.core.v1.ConfigMap("good-ca-config", metadata={"namespace": "shop"},
                              data={"PGSSLMODE": "verify-full", "ca.pem": "-----BEGIN..."},
                              opts=child)
        self.register_outputs({})


cluster_provider = k8s.Provider("shop-cluster", kubeconfig="{}")
Shop("shop", opts=pulumi.ResourceOptions(providers=[cluster_provider]))
