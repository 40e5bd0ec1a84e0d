"""An EKS cluster from pulumi_eks whose kubeconfig the program asks for through the component's
method (``Cluster.get_kubeconfig``, a resource method call, not a data source), handed to a
Kubernetes provider that deploys a namespace and a ConfigMap."""

import pulumi
import pulumi_eks as eks
import pulumi_kubernetes as k8s

cluster = eks.Cluster("apps", instance_type="t3.medium", desired_capacity=2, min_size=1, max_size=3)
kubeconfig = cluster.get_kubeconfig(profile_name="apps")
provider = k8s.Provider("apps", kubeconfig=kubeconfig)
namespace = k8s.core.v1.Namespace("apps", opts=pulumi.ResourceOptions(provider=provider))
k8s.core.v1.ConfigMap("settings", metadata={"namespace": namespace.metadata.name},
                      data={"LOG_LEVEL": "info"}, opts=pulumi.ResourceOptions(provider=provider))

pulumi.export("kubeconfig_length", kubeconfig.apply(len))
