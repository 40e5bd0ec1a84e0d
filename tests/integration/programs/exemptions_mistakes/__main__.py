"""A blog platform's stack: WordPress and a forum cannot log in with IAM tokens. The team exempts
them from ``rds-iam-auth-enabled`` only: WordPress through the pack configuration (by name),
the forum through its ``pgiam:exempt`` tag. Every other rule still applies to them, and the
databases nobody exempted are still reported. ``good-*`` resources make no mistake."""

import pulumi_aws as aws

COMMON = {"storage_encrypted": True, "skip_final_snapshot": True}

# Exempted by the pack configuration (exemptions by resource name pattern).
aws.rds.Instance("wordpress-db", engine="mysql", instance_class="db.t4g.micro",
                 allocated_storage=20, username="wp", password="wp-password-123",
                 **COMMON)

# Exempted by its own tag: only rds-iam-auth-enabled is lifted, so its public exposure is still
# reported.
aws.rds.Instance("forum-public-db", engine="postgres", instance_class="db.t4g.micro",
                 allocated_storage=20, username="forum", password="forum-password-123",
                 publicly_accessible=True,
                 tags={"pgiam:exempt": "rds-iam-auth-enabled: phpBB logs in with a password",
                       "team": "community"},
                 **COMMON)

# A tag naming the rule without a reason exempts nothing.
aws.rds.Cluster("wiki-tag-without-reason", engine="aurora-postgresql", engine_version="16.4",
                master_username="wiki", master_password="wiki-password-123",
                tags={"pgiam:exempt": "rds-iam-auth-enabled"}, **COMMON)

# A tag exempting another rule does not exempt this one.
aws.rds.Cluster("shop-other-rule-tag", engine="aurora-postgresql", engine_version="16.4",
                master_username="shop", master_password="shop-password-123",
                tags={"pgiam:exempt": "rds-force-ssl: TLS terminated by the proxy"}, **COMMON)

tls = aws.rds.ClusterParameterGroup("good-tls", family="aurora-postgresql16", parameters=[
    aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1")])
aws.rds.Cluster("good-orders", engine="aurora-postgresql", engine_version="16.4",
                master_username="orders", manage_master_user_password=True,
                iam_database_authentication_enabled=True,
                db_cluster_parameter_group_name=tls.name, **COMMON)
