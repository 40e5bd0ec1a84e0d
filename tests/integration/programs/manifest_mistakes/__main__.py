"""Kubernetes objects the way platform teams ship them: a YAML file through ``yaml.ConfigFile``,
inline YAML in ``yaml.v2.ConfigGroup``, a Helm release's values, a SQLAlchemy URL. Each is named
for its mistake; ``good-*`` ones make none."""

import pulumi_kubernetes as k8s

k8s.yaml.ConfigFile("ledger-manifests", file="app.yaml")
k8s.yaml.v2.ConfigGroup("inline-prefer", yaml="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: reports-db, namespace: finance}
data:
  DB_SSLMODE: prefer
""")
k8s.helm.v3.Release("chart-static-secret", chart="oci://registry.example/charts/exporter",
                    namespace="finance", values={
                        "aws": {"region": "us-east-1",
                                "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                        "database": {"sslmode": "verify-full"}})
k8s.helm.v3.Release("good-chart", chart="oci://registry.example/charts/exporter",
                    namespace="finance", values={"serviceAccount": {"name": "exporter"},
                                                 "database": {"sslmode": "verify-full"}})


def deployment(name, env):
    return k8s.apps.v1.Deployment(name, metadata={"name": name, "namespace": "finance"}, spec={
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": name, "image": f"{name}:1", "env": env}]}}})


deployment("sqlalchemy-default-prefer",
           [{"name": "DATABASE_URL", "value": "postgresql+psycopg2://app@db:5432/app"}])
deployment("require-not-verified", [{"name": "PGHOST", "value": "db"},
                                    {"name": "PGSSLMODE", "value": "require"}])
deployment("good-verify-full", [
    {"name": "DATABASE_URL",
     "value": "postgresql+psycopg://app@db:5432/app?sslmode=verify-full"}])
