"""pulumi-postgresql roles that hold rds_iam, each named for its mistake (``good-*``: none).
The explicit provider connects as the master user; other grants use the default provider,
configured by postgresql:username in Pulumi.yaml."""

import pulumi
import pulumi_aws as aws
import pulumi_postgresql as postgresql

cluster = aws.rds.Cluster("db", engine="aurora-postgresql", engine_version="16.4",
                          iam_database_authentication_enabled=True, storage_encrypted=True,
                          master_username="pgadmin", master_password="not-checked-here-1")
writer = aws.rds.ClusterInstance("db-writer", cluster_identifier=cluster.id,
                                 engine="aurora-postgresql", instance_class="db.t4g.medium")
provider = postgresql.Provider(
    "pg", host=pulumi.Output.all(cluster.endpoint, writer.id).apply(lambda v: v[0]),
    username="pgadmin", password="not-checked-here-1", superuser=False, sslmode="require")
explicit = pulumi.ResourceOptions(provider=provider)

postgresql.Role("good-app-user", name="app_user", login=True, roles=["rds_iam"], opts=explicit)
postgresql.Role("superuser-iam", name="etl", login=True, superuser=True, roles=["rds_iam"],
                opts=explicit)
create_role = postgresql.Role("createrole-iam", name="deployer", login=True, create_role=True,
                              opts=explicit)
postgresql.GrantRole("createrole-iam-grant", role=create_role.name, grant_role="rds_iam",
                     opts=explicit)
admin_member = postgresql.Role("rds-superuser-iam", name="support", login=True,
                               roles=["rds_iam", "rds_superuser"], opts=explicit)
# rds_iam to the master user: through the explicit provider, and through the default provider.
postgresql.GrantRole("master-rds-iam", role="pgadmin", grant_role="rds_iam", opts=explicit)
postgresql.GrantRole("master-rds-iam-default-provider", role="pgadmin", grant_role="rds_iam")
