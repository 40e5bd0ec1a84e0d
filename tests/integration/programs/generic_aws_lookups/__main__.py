"""A compliant web tier: AMI, default VPC and subnets, an ECR login, a secret and an SSM
parameter looked up; an ALB whose DNS name the program's own code concatenates; a bucket, a log
group, a Lambda function, a KMS key, an ACM certificate validated through a Route 53 zone."""

import base64
import json

import pulumi
import pulumi_aws as aws

cfg = pulumi.Config()
password = cfg.require_secret("dbPassword")

ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"],
                      filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}])
vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
zones = aws.get_availability_zones(state="available")
caller = aws.get_caller_identity()
region = aws.get_region()
partition = aws.get_partition()
token = aws.ecr.get_authorization_token()
secret = aws.secretsmanager.get_secret_version(secret_id="app/api-key")
parameter = aws.ssm.get_parameter(name="/app/feature-flags")
zone = aws.route53.get_zone(name="example.com")
kms_alias = aws.kms.get_alias(name="alias/aws/s3")
existing_role = aws.iam.get_role(name="ops-readonly")
managed = aws.iam.get_policy(arn="arn:aws:iam::aws:policy/ReadOnlyAccess")

user, password_b64 = base64.b64decode(token.authorization_token).decode().split(":", 1) \
    if ":" in base64.b64decode(token.authorization_token + "==").decode(errors="ignore") \
    else ("AWS", token.authorization_token)
settings = json.loads(secret.secret_string) if secret.secret_string.startswith("{") else {}

sg = aws.ec2.SecurityGroup("web", vpc_id=vpc.id, ingress=[
    {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}])
lb = aws.lb.LoadBalancer("web", subnets=subnets.ids[:2], security_groups=[sg.id])
group = aws.lb.TargetGroup("web", port=80, protocol="HTTP", vpc_id=vpc.id)
listener = aws.lb.Listener("web", load_balancer_arn=lb.arn, port=80,
                           default_actions=[{"type": "forward", "target_group_arn": group.arn}])
server = aws.ec2.Instance("web", ami=ami.id, instance_type="t3.micro",
                          subnet_id=subnets.ids[0], vpc_security_group_ids=[sg.id],
                          availability_zone=zones.names[0])

bucket = aws.s3.BucketV2("assets")
key = aws.kms.Key("assets", description="assets", enable_key_rotation=True)
logs = aws.cloudwatch.LogGroup("web", retention_in_days=14, kms_key_id=key.arn)
alarm = aws.cloudwatch.MetricAlarm("web-5xx", comparison_operator="GreaterThanThreshold",
                                   evaluation_periods=1, metric_name="HTTPCode_ELB_5XX_Count",
                                   namespace="AWS/ApplicationELB", period=60, statistic="Sum",
                                   threshold=5, dimensions={"LoadBalancer": lb.arn_suffix})
role = aws.iam.Role("fn", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}]}))
fn = aws.lambda_.Function("fn", role=role.arn, runtime="python3.12", handler="index.handler",
                          code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c): pass")}),
                          environment={"variables": {"BUCKET": bucket.bucket}})
cert = aws.acm.Certificate("web", domain_name="www.example.com", validation_method="DNS")
record = aws.route53.Record("web-validation", zone_id=zone.zone_id,
                            name=cert.domain_validation_options[0].resource_record_name,
                            type=cert.domain_validation_options[0].resource_record_type,
                            records=[cert.domain_validation_options[0].resource_record_value], ttl=60)

pulumi.export("url", pulumi.Output.concat("http://", lb.dns_name))
pulumi.export("bucket_arn", bucket.arn)
pulumi.export("fn_arn", fn.invoke_arn.apply(lambda arn: arn.upper()))
pulumi.export("server_ip", server.public_ip)
pulumi.export("ami", ami.id)
pulumi.export("account", caller.account_id)
pulumi.export("registry_user", user)
pulumi.export("settings", len(settings))
pulumi.export("flags", parameter.value)
pulumi.export("existing_role", existing_role.arn)
pulumi.export("managed_policy", managed.arn)
pulumi.export("kms_alias", kms_alias.target_key_arn)
pulumi.export("password_length", password.apply(len))
