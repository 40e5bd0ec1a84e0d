"""What the engine's handlers share during one run: the local cloud they create in (endpoint,
region, account, CA bundle, OIDC issuer, token minting), boto3 clients for it, the stack's
default tags, the explicit providers the program registered, the local Kubernetes clusters, and
the state. Secrets (a PostgreSQL provider's password) stay in this object's memory only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.e2e.engine.kube import LOCAL_IMAGES, ClusterModel, KubeError, LocalImage
from pgiam.e2e.engine.kubelet import Kubelet, TokenMinter
from pgiam.e2e.engine.state import EngineState

# the key under which a Kubernetes provider's record names the local cluster it reaches
CLUSTER_KEY = "__cluster"

DEFAULT_TAGS_KEY = "aws:defaultTags"


@dataclass(frozen=True)
class CloudInfo:
    """The local cloud the engine deploys into (from ``pgiam localcloud up``)."""

    region: str
    account_id: str
    endpoint_url: str
    issuer: str            # the OIDC issuer URL, with its scheme
    ca_bundle: str         # path of the PEM that signs the database endpoints
    thumbprint: str = ""   # SHA-1 of the issuer's CA certificate, for the IAM OIDC provider
    # The deployer's keys: the account administrator's, which `up` creates and prints (a strict
    # local cloud refuses keys it never issued, as AWS does).
    admin_access_key_id: str = ""
    admin_secret_access_key: str = field(default="", repr=False)
    # The local RDS endpoint names: the hosts file and the variables that make a process read it
    # (pgiam.localcloud.rds.resolver); pods get the variables, the engine's own SQL the address.
    hosts_file: str = ""
    resolver_env: tuple[tuple[str, str], ...] = ()
    # The Pod Identity Agent's URL template ("...{cluster}..."; the local cloud's pod-identity
    # extension serves one agent path per EKS cluster); "" when the cloud has none.
    pod_identity_agent_url: str = ""

    @property
    def partition(self) -> str:
        import boto3

        return boto3.session.Session().get_partition_for_region(self.region)

    @property
    def issuer_without_scheme(self) -> str:
        return self.issuer.split("://", 1)[-1].rstrip("/")


@dataclass
class LocalCluster:
    model: ClusterModel
    kubelet: Kubelet
    server: str


@dataclass
class EngineContext:
    stack: str
    project: str
    cloud: CloudInfo
    state: EngineState
    root: Path
    config: Mapping[str, str]
    mint_token: TokenMinter
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    clusters: dict[str, LocalCluster] = field(default_factory=dict)
    # entry key of a database -> (master user, master password), as the program gave them; in
    # memory only (never in the state file), for the run's checks that log in as the master
    master_logins: dict[str, tuple[str, str]] = field(default_factory=dict)
    # image repository -> what a pod runs for it (kube.LOCAL_IMAGES and --image-command)
    images: dict[str, LocalImage] = field(default_factory=lambda: dict(LOCAL_IMAGES))
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- AWS ----------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for the local cloud (thread-safe once made; one per service/region)."""
        import boto3
        import botocore.config

        region = region or self.cloud.region
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                session = boto3.session.Session(aws_access_key_id=self.cloud.admin_access_key_id,
                                                aws_secret_access_key=self.cloud.admin_secret_access_key,
                                                region_name=region)
                self._clients[key] = session.client(
                    service, endpoint_url=self.cloud.endpoint_url,
                    config=botocore.config.Config(retries={"max_attempts": 2},
                                                  connect_timeout=5, read_timeout=60))
            return self._clients[key]

    def region_of(self, provider: Mapping[str, Any] | None) -> str:
        return str((provider or {}).get("region") or self.config.get("aws:region")
                   or self.cloud.region)

    def default_tags(self, provider: Mapping[str, Any] | None = None) -> dict[str, str]:
        """``aws:defaultTags`` (or an explicit provider's ``defaultTags``): ``{"tags": {...}}``."""
        raw: Any = (provider or {}).get("defaultTags")
        if raw is None:
            raw = self.config.get(DEFAULT_TAGS_KEY)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return {}
        tags = (raw or {}).get("tags") if isinstance(raw, Mapping) else None
        return {str(k): str(v) for k, v in (tags or {}).items()}

    def tags_for(self, inputs: Mapping[str, Any], provider: Mapping[str, Any] | None = None
                 ) -> dict[str, str]:
        """A resource's ``tagsAll``: the default tags overlaid with its own ``tags``."""
        return {**self.default_tags(provider),
                **{str(k): str(v) for k, v in (inputs.get("tags") or {}).items()}}

    # -- Kubernetes ---------------------------------------------------------------------

    def add_cluster(self, name: str, server: str, network_env: Mapping[str, str]) -> LocalCluster:
        with self._lock:
            model = ClusterModel(name=name, region=self.cloud.region, images=self.images)
            kubelet = Kubelet(model, self.state, self.root / "kube" / name, self.mint_token,
                              network_env)
            cluster = LocalCluster(model, kubelet, server)
            self.clusters[name] = cluster
            return cluster

    def cluster_for_kubeconfig(self, kubeconfig: Any) -> LocalCluster:
        """The local cluster a kubeconfig points at: by its server URL, else by the cluster
        name in its ``aws eks get-token`` arguments."""
        if isinstance(kubeconfig, str):
            try:
                kubeconfig = json.loads(kubeconfig)
            except ValueError:
                import yaml

                kubeconfig = yaml.safe_load(kubeconfig)
        if not isinstance(kubeconfig, Mapping):
            raise KubeError("the Kubernetes provider's kubeconfig is not a kubeconfig document")
        servers = {str((item.get("cluster") or {}).get("server") or "")
                   for item in kubeconfig.get("clusters") or []}
        names: set[str] = set()
        for user in kubeconfig.get("users") or []:
            args = list(((user.get("user") or {}).get("exec") or {}).get("args") or [])
            if "--cluster-name" in args and args.index("--cluster-name") + 1 < len(args):
                names.add(args[args.index("--cluster-name") + 1])
        with self._lock:
            for name, cluster in self.clusters.items():
                if cluster.server in servers or name in names:
                    return cluster
        raise KubeError("the Kubernetes provider's kubeconfig names no cluster this stack "
                        f"created (servers {sorted(servers)}); the local engine runs Kubernetes "
                        "objects only in EKS clusters of the same stack")

    def cluster_for_provider(self, provider_id: str, type_: str, name: str) -> LocalCluster:
        provider = self.providers.get(provider_id)
        if provider is None or CLUSTER_KEY not in provider:
            raise KubeError(f"{type_} {name!r} uses the default Kubernetes provider: the local "
                            "engine only runs objects in clusters the program created; pass "
                            "a kubernetes.Provider built from the cluster's kubeconfig")
        cluster = self.clusters.get(provider[CLUSTER_KEY])
        if cluster is None:
            raise KubeError(f"{type_} {name!r}: its cluster {provider[CLUSTER_KEY]!r} is gone")
        return cluster
