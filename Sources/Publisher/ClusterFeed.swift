import Clocks
import ClusterState
import KubernetesSource
import Logging
import Synchronization
import YAMLReader

/// One member cluster's state, read by the same sources `fedns serve` uses, and when it was last readable.
final class ClusterFeed: Sendable {
    let cluster: PublisherConfig.Cluster
    let store = SnapshotStore(nodeName: nil)
    private let file: FileSource?
    let kube: KubernetesSource?

    init(_ cluster: PublisherConfig.Cluster, logger: Logger) throws(ConfigError) {
        self.cluster = cluster
        var logger = logger
        logger[metadataKey: "publish.cluster"] = "\(cluster.name)"
        switch cluster.source {
        case .file(let path):
            file = FileSource(path: path, store: store, logger: logger)
            kube = nil
        case .kubernetes(let kubeconfig, let context):
            let endpoint = try Kubeconfig.endpoint(path: kubeconfig, context: context)
            file = nil
            var resources = KubeResource.needed(nodeName: nil, ownNodePods: false, allPods: false)
            // Without a zone or region in the config, the labels the cluster's Nodes share tell them.
            if cluster.zone == nil || cluster.region == nil { resources.append(KubeResource(kind: .node)) }
            kube = try KubernetesSource(endpoint: endpoint, resources: resources, store: store, logger: logger)
        }
    }

    private let fileReadAt = Mutex<Double?>(nil)

    /// Looks at a state file (a no-op for the API source, which runs on its own).
    func poll() {
        guard let file else { return }
        if store.current == nil { _ = try? file.loadOnce() } else { file.checkNow() }
        if file.lastError == nil, store.current != nil { fileReadAt.withLock { $0 = WallClock.secondsSinceEpoch() } }
    }

    /// The first load of a state file; its error names the file, line and field.
    func loadOnce() throws(ObjectError) {
        guard let file else { return }
        try file.loadOnce()
        fileReadAt.withLock { $0 = WallClock.secondsSinceEpoch() }
    }

    /// Until when (wall-clock seconds) the cluster is known readable; nil when it never was.
    var readableUntil: Double? {
        if let kube { return store.current == nil ? nil : kube.sync.reachability.readableUntil() }
        return fileReadAt.withLock { $0 }
    }

    var lastFileError: ObjectError? { file?.lastError }
}
