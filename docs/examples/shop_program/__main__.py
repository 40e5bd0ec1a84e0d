"""A minimal team program: a PostgreSQL instance with IAM auth and the IRSA role of one pod."""

import json

import pulumi
import pulumi_aws as aws

cfg = pulumi.Config()
oidc_provider_arn = cfg.require("oidcProviderArn")
issuer = oidc_provider_arn.split(":oidc-provider/", 1)[1]
account = aws.get_caller_identity().account_id
region = aws.get_region().region

db = aws.rds.Instance("shop-db", engine="postgres", instance_class="db.t4g.micro",
                      allocated_storage=20, username="shop_admin",
                      password=cfg.require_secret("dbPassword"),
                      iam_database_authentication_enabled=True, storage_encrypted=True,
                      skip_final_snapshot=True)
role = aws.iam.Role("checkout", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": oidc_provider_arn},
                   "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {
                       f"{issuer}:sub": "system:serviceaccount:shop:checkout",
                       f"{issuer}:aud": "sts.amazonaws.com"}}}]}))
aws.iam.RolePolicy("checkout-db", role=role.id, policy=db.resource_id.apply(lambda rid: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
                   "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:{rid}/checkout"}]})))
