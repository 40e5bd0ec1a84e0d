"""RDS shapes, each named for the mistake it makes (or ``good-*`` when it makes none)."""

import pulumi
import pulumi_aws as aws

# Aurora PostgreSQL without IAM auth and without encryption, default parameter group.
aws.rds.Cluster("no-iam-auth", engine="aurora-postgresql", engine_version="16.4",
                master_username="admin_user", master_password="not-checked-here-1",
                skip_final_snapshot=True)

# IAM auth explicitly off, a parameter group linked by Output that does not force TLS.
weak_params = aws.rds.ClusterParameterGroup(
    "weak-params", family="aurora-postgresql16",
    parameters=[aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="0")])
aws.rds.Cluster("iam-auth-off", engine="aurora-postgresql", engine_version="16.4",
                iam_database_authentication_enabled=False, storage_encrypted=True,
                db_cluster_parameter_group_name=weak_params.name,
                master_username="admin_user", master_password="not-checked-here-1")

# Aurora Serverless v1 cannot do IAM auth at all.
aws.rds.Cluster("serverless-v1", engine="aurora-mysql", engine_mode="serverless",
                iam_database_authentication_enabled=True,
                master_username="admin_user", master_password="not-checked-here-1")

# A MySQL instance: IAM auth off, public, a kms key but no storage encryption.
aws.rds.Instance("public-mysql", engine="mysql", instance_class="db.t4g.micro",
                 allocated_storage=20, username="admin_user", password="not-checked-here-1",
                 publicly_accessible=True, kms_key_id="arn:aws:kms:us-east-1:123456789012:key/x")

# A compliant cluster whose writer instance is public.
strong_params = aws.rds.ClusterParameterGroup(
    "strong-params", family="aurora-postgresql16",
    parameters=[{"name": "rds.force_ssl", "value": "1"}])
good = aws.rds.Cluster("good-cluster", engine="aurora-postgresql", engine_version="16.4",
                       iam_database_authentication_enabled=True, storage_encrypted=True,
                       db_cluster_parameter_group_name=strong_params.name,
                       master_username="admin_user", master_password="not-checked-here-1")
aws.rds.ClusterInstance("public-writer", cluster_identifier=good.id, engine="aurora-postgresql",
                        instance_class="db.t4g.medium", publicly_accessible=True)
aws.rds.ClusterInstance("good-writer", cluster_identifier=good.id, engine="aurora-postgresql",
                        instance_class="db.t4g.medium")

# An engine without IAM auth (SQL Server) is not asked for it, but is for encryption.
aws.rds.Instance("sqlserver-unencrypted", engine="sqlserver-ex", instance_class="db.t3.micro",
                 allocated_storage=20, username="admin_user", password="not-checked-here-1")

pulumi.export("goodEndpoint", good.endpoint)
