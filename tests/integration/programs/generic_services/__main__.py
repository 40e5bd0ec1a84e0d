"""A component resource (class-based, as many public examples are) holding a queue worker on ECS
Fargate and an HTTP API: the worker's image comes from an ECR repository whose URL the code
splits, its settings from SSM and Secrets Manager lookups, its table name from DynamoDB, the API's
endpoint and a CloudFront domain are concatenated into exports, random names and a password are
generated. A policy document kept in SSM is attached as it is (deferred,
never judged on an invented document). The database cluster at the end forgets IAM authentication (the positive control)."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_random as random

config = pulumi.Config()
signing_key = config.require_secret("signingKey")


class Worker(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("generic:index:Worker", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = aws.get_caller_identity()
        region = aws.get_region()
        subnets = aws.ec2.get_subnets(filters=[{"name": "tag:tier", "values": ["app"]}])
        engine = aws.rds.get_engine_version(engine="aurora-postgresql", latest=True)
        endpoint_service = aws.ec2.get_vpc_endpoint_service(service="s3")
        queue_settings = aws.ssm.get_parameters_by_path(path="/worker/", recursive=True)
        api_secret = aws.secretsmanager.get_secret(name="worker/api")
        zone = aws.route53.get_zone(name="example.org", private_zone=False)
        suffix = random.RandomPet(f"{name}-suffix", length=2, opts=child)
        self.queue = aws.sqs.Queue(f"{name}-jobs", visibility_timeout_seconds=60, opts=child)
        self.table = aws.dynamodb.Table(
            f"{name}-state", billing_mode="PAY_PER_REQUEST", hash_key="id",
            attributes=[{"name": "id", "type": "S"}], opts=child)
        repository = aws.ecr.Repository(f"{name}-image", opts=child)
        registry = repository.repository_url.apply(lambda url: url.split("/")[0])
        task_role = aws.iam.Role(f"{name}-task", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                           "Action": "sts:AssumeRole"}]}), opts=child)
        aws.iam.RolePolicy(f"{name}-task", role=task_role.id, policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                 "Resource": self.queue.arn},
                {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                 "Resource": self.table.arn},
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                 "Resource": api_secret.arn}]}), opts=child)
        cluster = aws.ecs.Cluster(f"{name}-cluster", opts=child)
        task = aws.ecs.TaskDefinition(
            f"{name}-task", family=suffix.id, cpu="256", memory="512", network_mode="awsvpc",
            requires_compatibilities=["FARGATE"], task_role_arn=task_role.arn,
            container_definitions=pulumi.Output.json_dumps([{
                "name": "worker", "essential": True,
                "image": pulumi.Output.concat(repository.repository_url, ":latest"),
                "environment": [
                    {"name": "QUEUE_URL", "value": self.queue.url},
                    {"name": "TABLE", "value": self.table.name},
                    {"name": "REGISTRY", "value": registry},
                    {"name": "SETTINGS", "value": ",".join(queue_settings.names)},
                    {"name": "REGION", "value": region.region}]}]), opts=child)
        aws.ecs.Service(f"{name}-svc", cluster=cluster.arn, task_definition=task.arn,
                        desired_count=1, launch_type="FARGATE",
                        network_configuration={"subnets": subnets.ids,
                                               "assign_public_ip": False}, opts=child)
        self.api = aws.apigatewayv2.Api(f"{name}-api", protocol_type="HTTP", opts=child)
        stage = aws.apigatewayv2.Stage(f"{name}-api", api_id=self.api.id, name="$default",
                                       auto_deploy=True, opts=child)
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn", enabled=True,
            origins=[{"origin_id": "api", "domain_name": self.api.api_endpoint.apply(
                lambda url: url.removeprefix("https://")),
                "custom_origin_config": {"http_port": 80, "https_port": 443,
                                         "origin_protocol_policy": "https-only",
                                         "origin_ssl_protocols": ["TLSv1.2"]}}],
            default_cache_behavior={"target_origin_id": "api", "viewer_protocol_policy": "redirect-to-https",
                                    "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                    "forwarded_values": {"query_string": True, "cookies": {"forward": "none"}}},
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True}, opts=child)
        aws.route53.Record(f"{name}-cdn", zone_id=zone.zone_id, name=f"api.{zone.name}", type="A",
                           aliases=[{"name": self.distribution.domain_name,
                                     "zone_id": self.distribution.hosted_zone_id,
                                     "evaluate_target_health": False}], opts=child)
        self.engine_version = engine.version
        self.endpoint_service = endpoint_service.service_name
        self.account = identity.account_id
        self.stage_url = stage.invoke_url
        self.register_outputs({"queue": self.queue.url})


worker = Worker("orders")
stored = aws.ssm.get_parameter(name="/policies/worker-extra", with_decryption=True)
extra = aws.iam.Policy("worker-extra", policy=stored.value)
password = random.RandomPassword("db", length=24, special=False)
db = aws.rds.Cluster("orders-db", engine="aurora-postgresql", engine_version=worker.engine_version,
                     master_username="orders", master_password=password.result,
                     storage_encrypted=True, skip_final_snapshot=True)

pulumi.export("queue_url", worker.queue.url)
pulumi.export("queue_name", worker.queue.url.apply(lambda url: url.rsplit("/", 1)[-1]))
pulumi.export("api", pulumi.Output.concat(worker.api.api_endpoint, "/jobs"))
pulumi.export("cdn", pulumi.Output.format("https://{0}/", worker.distribution.domain_name))
pulumi.export("stage", worker.stage_url)
pulumi.export("table", worker.table.stream_arn)
pulumi.export("endpoint_service", worker.endpoint_service)
pulumi.export("account", worker.account)
pulumi.export("db", db.endpoint.apply(lambda host: host.split(".")[0]))
pulumi.export("key_length", signing_key.apply(len))
