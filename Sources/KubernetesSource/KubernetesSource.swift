import Clocks
import ClusterState
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import YAMLReader

/// The Kubernetes API source: one ``Reflector`` per needed resource and the ``TokenReloader``, sharing one
/// HTTPS client, feeding one ``SnapshotStore``. A `Service`: it runs beside the listeners (which are bound
/// first; until the first sync, cluster names get SERVFAIL with EDE 14 and `/ready` says 503) until
/// graceful shutdown. An API outage never stops it: the last snapshot keeps serving while it retries.
public final class KubernetesSource: ServiceLifecycle.Service, Sendable {
    public let endpoint: APIEndpoint
    public let resources: [KubeResource]
    public let tokens: TokenReloader
    public let sync: ClusterSync
    public let reflectors: [Reflector]
    let client: APIClient
    let logger: Logger

    /// - Parameters:
    ///   - resources: ``KubeResource/needed(nodeName:ownNodePods:allPods:)``.
    ///   - time: the clock of backoff, silence and token checks (tests pass a `ManualClock`).
    public init(endpoint: APIEndpoint, resources: [KubeResource], store: SnapshotStore, timing: ReflectorTiming = ReflectorTiming(),
                tokenCheckInterval: Duration = .seconds(60), time: any TimeSource = SystemTimeSource(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) throws(ConfigError) {
        self.endpoint = endpoint
        self.resources = resources
        self.logger = logger
        let tokens = TokenReloader(authentication: endpoint.auth, time: time, logger: logger, checkInterval: tokenCheckInterval)
        let client = try APIClient(endpoint: endpoint, tokens: tokens, group: group)
        let metrics = KubeMetrics()
        let sync = ClusterSync(store: store, needed: Set(resources.map(\.kind)), metrics: metrics, logger: logger)
        let interner = Interner()
        self.tokens = tokens
        self.client = client
        self.sync = sync
        reflectors = resources.map {
            Reflector(resource: $0, client: client, sync: sync, interner: interner, timing: timing, time: time, metrics: metrics,
                      logger: logger, random: random)
        }
    }

    public func run() async throws {
        logger.info("kubernetes: source starting", metadata: [
            "kube.server": "\(endpoint.server)", "kube.credentials": "\(endpoint.origin)",
            "kube.resources": "\(resources.map(\.description).joined(separator: ", "))",
        ])
        await withDiscardingTaskGroup { group in
            group.addTask { try? await self.tokens.run() }
            for reflector in reflectors {
                group.addTask { try? await reflector.run() }
            }
        }
        await client.shutdown()
    }
}
