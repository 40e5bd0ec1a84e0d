"""The local engine: a ``pulumi.runtime.Mocks`` whose ``new_resource`` creates each resource for
real (AWS types in the local cloud through boto3, ``eks:index:Cluster`` as an EKS cluster with
the local cloud's OIDC issuer, PostgreSQL types as SQL, Kubernetes objects in a local cluster
whose Deployments run as local processes), with a crash-safe state and a destroy that walks the
state backwards. See docs/e2e.md, "The local engine"."""
