"""Every policy of the pack: name, what it checks, its default enforcement, its configuration and
its check. The README's table is this list; a unit test keeps the two in step."""

from __future__ import annotations

from . import (
    broad_permissions,
    document_validity,
    irsa_trust,
    kubernetes,
    managed_connect,
    multivalued_keys,
    opaque_policies,
    oidc_provider,
    pod_identity,
    pod_passwords,
    postgresql,
    rds,
    rds_db_connect,
    secret_access,
    stack_rules,
)
from .config import ALLOWED_AUDIENCES, ALLOWED_STACKS, NON_KUBERNETES_ISSUERS
from .model import Rule

MANDATORY = "mandatory"
ADVISORY = "advisory"

RULES: tuple[Rule, ...] = (
    Rule("rds-iam-auth-enabled",
         "RDS clusters and instances of engines that support it (PostgreSQL, MySQL, MariaDB and "
         "their Aurora editions) have IAM database authentication enabled.",
         "resource", MANDATORY, rds.check_iam_auth),
    Rule("rds-storage-encrypted",
         "RDS clusters and instances encrypt their storage at rest.",
         "resource", MANDATORY, rds.check_storage_encrypted),
    Rule("rds-not-publicly-accessible",
         "RDS instances (also a cluster's instances) are not publicly accessible, except on "
         "stacks configured as allowed.",
         "resource", MANDATORY, rds.check_not_public, ALLOWED_STACKS),
    Rule("rds-force-ssl",
         "Each IAM-auth database uses a parameter group that forces TLS (rds.force_ssl=1, "
         "require_secure_transport=ON).",
         "stack", ADVISORY, rds.check_force_ssl),
    Rule("iam-policy-document-valid",
         "Every IAM policy document (trust and identity) is one IAM accepts and the pack can "
         "read.",
         "resource", MANDATORY, document_validity.check_documents_valid),
    Rule("irsa-trust-federated-provider",
         "A trust policy that allows sts:AssumeRoleWithWebIdentity trusts a specific IAM OIDC "
         "provider ARN: never \"*\", never Principal \"*\", never NotPrincipal with Allow.",
         "resource", MANDATORY, irsa_trust.check_federated_provider),
    Rule("irsa-trust-condition-keys",
         "OIDC condition keys of a web-identity trust are <issuer>:<claim> with the trusted "
         "provider's issuer: no https://, not the provider ARN, not another issuer.",
         "resource", MANDATORY, irsa_trust.check_condition_keys),
    Rule("irsa-trust-subject",
         "An IRSA trust names exactly one Kubernetes service account: StringEquals "
         "<issuer>:sub = system:serviceaccount:<namespace>:<name>, no wildcard, no StringLike, "
         "no set qualifier, no IfExists.",
         "resource", MANDATORY, irsa_trust.check_subject, NON_KUBERNETES_ISSUERS),
    Rule("irsa-trust-audience",
         "An :aud condition of an IRSA trust names only allowed audiences (sts.amazonaws.com), "
         "exactly.",
         "resource", MANDATORY, irsa_trust.check_audience,
         {**ALLOWED_AUDIENCES, **NON_KUBERNETES_ISSUERS}),
    Rule("irsa-trust-audience-present",
         "An IRSA trust pins the token audience with an :aud condition.",
         "resource", ADVISORY, irsa_trust.check_audience_present,
         {**ALLOWED_AUDIENCES, **NON_KUBERNETES_ISSUERS}),
    Rule("iam-condition-multivalued-key-operator",
         "A condition on a multivalued context key (aws:TagKeys, aws:CalledVia, "
         "aws:PrincipalOrgPaths, ArrayOf service keys) says ForAnyValue: or ForAllValues:.",
         "resource", ADVISORY, multivalued_keys.check_multivalued_keys),
    Rule("irsa-oidc-provider-audience",
         "An IAM OIDC provider's client ids include the audience of service account tokens "
         "(sts.amazonaws.com), else STS refuses every pod's token.",
         "resource", MANDATORY, oidc_provider.check_client_ids, ALLOWED_AUDIENCES),
    Rule("irsa-trust-default-service-account",
         "An IRSA trust never names a namespace's default service account "
         "(system:serviceaccount:<namespace>:default): every pod that names none would get the "
         "role.",
         "resource", MANDATORY, irsa_trust.check_default_service_account, NON_KUBERNETES_ISSUERS),
    Rule("rds-db-connect-resource",
         "Every rds-db:connect grant (any policy shape, any wildcard action, NotAction) names "
         "full dbuser ARNs: no wildcard in region, account, resource id or user, a cluster-/db- "
         "resource id (not the cluster identifier), never the database's rds ARN, never "
         "NotResource.",
         "resource", MANDATORY, rds_db_connect.check_connect_resources),
    Rule("irsa-role-broad-permissions",
         "A role assumed by Kubernetes service accounts carries no broad permission (\"*\" on "
         "\"*\", any action on \"*\", a whole service on every resource), however attached, AWS "
         "managed policies such as AdministratorAccess included.",
         "stack", MANDATORY, broad_permissions.check_broad_permissions, NON_KUBERNETES_ISSUERS),
    Rule("irsa-role-unreadable-policy",
         "A pod role (IRSA or EKS Pod Identity) gets no policy the pack cannot read: a customer "
         "managed policy ARN the stack does not define (another stack's or account's), or an "
         "AWS managed policy with no known document, attached alone or in a list.",
         "stack", ADVISORY, opaque_policies.check_opaque_policies, NON_KUBERNETES_ISSUERS),
    Rule("rds-db-connect-managed-policy",
         "In a stack with an IAM-auth database, no IAM user, group or non-pod role gets an AWS "
         "managed policy whose Allow covers rds-db:connect on every database user "
         "(AdministratorAccess, PowerUserAccess), however attached; each list element judged on "
         "its own.",
         "stack", ADVISORY, managed_connect.check_managed_policy_connect, NON_KUBERNETES_ISSUERS),
    Rule("irsa-role-reads-secrets",
         "A pod role (IRSA or EKS Pod Identity) cannot read secrets broadly: no "
         "secretsmanager:GetSecretValue, ssm:GetParameter* or kms:Decrypt on \"*\", on every "
         "secret/parameter/key, or on the database's master password secret.",
         "stack", MANDATORY, secret_access.check_secret_access, NON_KUBERNETES_ISSUERS),
    Rule("postgresql-rds-iam-no-password",
         "A PostgreSQL role that holds rds_iam sets no password.",
         "stack", MANDATORY, postgresql.check_rds_iam_without_password),
    Rule("kubernetes-no-database-password",
         "No database password reaches pods: no PGPASSWORD/DB_PASSWORD-like setting, "
         "postgres:// URL with a password or the RDS master password in workloads, Secrets, "
         "ConfigMaps or Helm values.",
         "stack", MANDATORY, pod_passwords.check_no_database_password),
    Rule("postgresql-rds-iam-role-privileges",
         "A PostgreSQL role that holds rds_iam is not SUPERUSER, cannot CREATEROLE and is not a "
         "member of rds_superuser.",
         "stack", MANDATORY, postgresql.check_rds_iam_privileges),
    Rule("postgresql-rds-iam-not-master",
         "rds_iam is never granted to the master user (the PostgreSQL provider's username, the "
         "cluster's masterUsername): it would be locked out of password login.",
         "stack", MANDATORY, postgresql.check_rds_iam_not_master),
    Rule("kubernetes-no-static-aws-credentials",
         "No static AWS credentials in Kubernetes objects: no AWS credential variables in pod "
         "specs, no access keys in env, args, Secrets or ConfigMaps.",
         "resource", MANDATORY, kubernetes.check_static_credentials),
    Rule("kubernetes-postgres-sslmode",
         "PostgreSQL clients in pods verify TLS: PGSSLMODE and equivalents, and sslmode= in "
         "connection strings, are never disable, allow or prefer (nor left to libpq's prefer).",
         "resource", MANDATORY, kubernetes.check_sslmode),
    Rule("kubernetes-postgres-sslmode-env-from",
         "PostgreSQL clients configured through envFrom (PGHOST or a postgres:// URL in a "
         "ConfigMap or Secret of the stack) get an sslmode from what they load: never libpq's "
         "default, prefer.",
         "stack", MANDATORY, kubernetes.check_sslmode_env_from),
    Rule("kubernetes-postgres-sslmode-verify-full",
         "PostgreSQL clients in pods verify the server: sslmode is not require, verify-ca or "
         "no-verify (TLS that does not check the certificate and host name), but verify-full.",
         "resource", ADVISORY, kubernetes.check_sslmode_verifies),
    Rule("irsa-service-account-role-trust",
         "A service account's eks.amazonaws.com/role-arn annotation names a role whose trust :sub "
         "names that service account in that namespace.",
         "stack", MANDATORY, stack_rules.check_service_account_role_trust),
    Rule("irsa-workload-service-account",
         "Workloads configured for AWS or a database run as the service account an IRSA role of "
         "the stack trusts in their namespace.",
         "stack", MANDATORY, stack_rules.check_workload_service_account),
    Rule("irsa-database-workload-role-connects",
         "A workload configured for one of the stack's databases runs as a service account "
         "whose role (IRSA or EKS Pod Identity) is granted rds-db:connect, when the stack grants "
         "it to some principal (the connect policy is not on another role).",
         "stack", MANDATORY, stack_rules.check_database_workload_role_connects),
    Rule("pod-identity-trust",
         "A role trusting pods.eks.amazonaws.com trusts it alone (no other principal, no "
         "wildcard) for exactly sts:AssumeRole and sts:TagSession; aws:SourceAccount names the "
         "role's own account.",
         "resource", MANDATORY, pod_identity.check_trust),
    Rule("pod-identity-association-role",
         "An EKS Pod Identity association's role trusts pods.eks.amazonaws.com (EKS refuses a "
         "role trusting only an OIDC provider), and its aws:SourceArn/aws:SourceAccount/"
         "aws:RequestTag conditions name the association's cluster, namespace and service "
         "account.",
         "stack", MANDATORY, pod_identity.check_association_role),
    Rule("pod-identity-workload-association",
         "In a stack using EKS Pod Identity, a workload configured for AWS or a database runs "
         "as a service account an association names (or an IRSA annotation gives a role).",
         "stack", MANDATORY, pod_identity.check_workload_association),
    Rule("rds-connect-user-has-rds-iam",
         "The database user a connect policy names holds rds_iam in the same stack.",
         "stack", MANDATORY, stack_rules.check_connect_user_has_rds_iam),
    Rule("rds-connect-resource-id-matches-cluster",
         "A connect policy's resource id, region and account are those of a database of the "
         "stack (its clusterResourceId), once known.",
         "stack", MANDATORY, stack_rules.check_connect_resource_id),
)

BY_NAME = {rule.name: rule for rule in RULES}
