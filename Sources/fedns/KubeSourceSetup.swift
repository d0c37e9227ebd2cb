import ClusterState
import KubernetesSource
import Logging
import Resolver
import Server
import ServiceLifecycle
import YAMLReader

/// Builds the Kubernetes API source from the resolved configuration: credentials from the kubeconfig or
/// the pod's service account, and the resources the configured features need.
struct KubeSourceSetup: Sendable {
    let endpoint: APIEndpoint
    let nodeName: String?
    let ownNodePods: Bool
    let allPods: Bool
    let timing: ReflectorTiming

    init(config: FednsConfig, environment: [String: String]) throws(ConfigError) {
        if let path = config.kube.kubeconfig {
            endpoint = try Kubeconfig.endpoint(path: path, context: config.kube.context)
        } else {
            endpoint = try InClusterCredentials.endpoint(environment: environment)
        }
        nodeName = config.nodeName.flatMap { $0.isEmpty ? nil : $0 }
        // The search path tells a client's namespace from its pod's IP unless the namespace is fixed (sidecar).
        ownNodePods = config.searchPathOn && config.searchPath.namespace == nil
        allPods = PodsMode(rawValue: config.clusterZone.pods.asciiLowercased) == .verified
        var timing = ReflectorTiming()
        timing.bookmarkInterval = .milliseconds(Int64(config.kube.bookmarkIntervalSeconds * 1000))
        self.timing = timing
    }

    var resources: [KubeResource] { KubeResource.needed(nodeName: nodeName, ownNodePods: ownNodePods, allPods: allPods) }

    func source(store: SnapshotStore, logger: Logger) throws -> [any ServiceLifecycle.Service] {
        if nodeName == nil {
            if ownNodePods && !allPods {
                logger.warning("""
                    kubernetes: no node name (--node-name, NODE_NAME or nodeName): the own node's pods are not watched, so the \
                    server-side search path cannot tell a client's namespace from its address, and the Node's zone and region \
                    are unknown (federated names answer with the global name)
                    """)
            } else {
                logger.warning("""
                    kubernetes: no node name (--node-name, NODE_NAME or nodeName): the own Node is not watched, so its zone and \
                    region are unknown (federated names answer with the global name unless zone and region are set)
                    """)
            }
        }
        return [try KubernetesSource(endpoint: endpoint, resources: resources, store: store, timing: timing, logger: logger)]
    }
}
