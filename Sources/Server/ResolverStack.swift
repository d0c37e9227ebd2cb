import Clocks
import ClusterState
import DNSWire
import Foundation
import Logging
import NameExpansion
import NIOCore
import Resolver
import ServiceLifecycle
import Synchronization
import YAMLReader

/// The resolver chain and the long-running parts it needs, built from one configuration.
/// The order is fixed here (STYLE §1): search path → federation → cluster zone → local zones → cache →
/// forward; configuration switches steps on and sets them, it never reorders them.
public struct ResolverStack {
    public let engine: QueryEngine
    public let snapshots: SnapshotStore
    /// The whole chain, as the server runs it (`fedns resolve --cluster-state` asks it in-process).
    public let chain: Chain
    /// File source, upstream health probes: run in the service group beside the server.
    public let services: [any ServiceLifecycle.Service]
    /// The forwarder's health probes (also in `services`); a reload hands them the new forwarder.
    public let probes: HealthProbes

    /// Builds the chain and its services from `config`.
    /// - Parameters:
    ///   - time: the clock of everything that waits: the file source's polls, the cache, the forwarder.
    ///   - transport: how the forwarder reaches upstreams; nil means real sockets (UDP tries on the
    ///     forwarder's reader thread, TCP on `group`)
    ///     (the conformance runner passes its scripted upstreams).
    ///   - firstLoad: when the cluster state file is first read: by `build` itself (in-process use),
    ///     or by the file source's service once the server's listeners are bound.
    public static func build(config: FednsConfig, group: any EventLoopGroup, logger: Logger,
                             time: any TimeSource = SystemTimeSource(),
                             transport: (any UpstreamTransport)? = nil,
                             firstLoad: FirstLoad = .whileBuilding) throws -> ResolverStack {
        let snapshots = SnapshotStore(nodeName: config.nodeName)
        var services: [any ServiceLifecycle.Service] = []
        if let path = config.clusterStateFile {
            let source = FileSource(path: path, store: snapshots, logger: logger, time: time)
            switch firstLoad {
            case .whileBuilding:
                FileSourceService.loadFirst(source, logger: logger)
                services.append(FileSourceService(source: source, listening: nil, logger: logger))
            case .afterListening(let listening):
                services.append(FileSourceService(source: source, listening: listening, logger: logger))
            }
        }

        let (chain, forward) = try makeChain(config: config, snapshots: snapshots, group: group, logger: logger, time: time,
                                             transport: transport)
        let probes = HealthProbes(forward: forward)
        services.append(probes)
        let engine = QueryEngine(chain: chain, snapshots: snapshots, identity: config.identity, metrics: ServerMetrics(),
                                 logger: logger)
        return ResolverStack(engine: engine, snapshots: snapshots, chain: chain, services: services, probes: probes)
    }

    /// The handlers for `config` in their fixed order, reading `snapshots`; also the forwarder, whose
    /// health probes must run beside it. Called again when the kube-dns ConfigMap changes.
    ///
    /// Built tail-first: the upstream path (local zones → cache → forward) exists before the handlers
    /// that chase CNAMEs through it (federation, and the cluster zone for ExternalName), and the full
    /// chain is those handlers in front of it.
    static func makeChain(config: FednsConfig, snapshots: SnapshotStore, group: any EventLoopGroup, logger: Logger,
                          time: any TimeSource, transport: (any UpstreamTransport)?) throws -> (Chain, ForwardHandler) {
        let snapshot: @Sendable () -> ClusterSnapshot? = { snapshots.current }
        let parts = try handlerConfigs(config, logger: logger)

        let localZones = try LocalZonesHandler(config: parts.localZones)
        let cache = try CacheHandler(config: parts.cache, time: time)
        let forward = try transport.map { t in
            try ForwardHandler(config: parts.forward, transport: t, time: time, logger: Logger(label: "fedns.forward"))
        } ?? ForwardHandler(config: parts.forward, group: group, time: time, logger: Logger(label: "fedns.forward"))
        let upstream = Chain(handlers: [localZones, cache, forward])

        let clusterZone = try ClusterZoneHandler(config: parts.clusterZone, snapshot: snapshot, upstream: upstream)
        let federation = try FederationHandler(config: parts.federation, snapshot: snapshot, upstream: upstream,
                                               logger: Logger(label: "fedns.federation"))
        var searchConfig = parts.searchPath
        if searchConfig.namespace == nil { searchConfig.podNamespace = SearchPathConfig.podIndex(snapshot) }
        let searchPath = try SearchPathHandler(config: searchConfig)

        // Configuration switches a step off (nil); it never moves one.
        let head: [(any Handler)?] = [
            config.searchPathOn ? searchPath : nil,
            parts.federation.federations.isEmpty ? nil : federation,
            clusterZone,
        ]
        return (upstream.prepending(head.compactMap { $0 }), forward)
    }

    struct HandlerConfigs {
        var federation: FederationConfig
        var clusterZone: ClusterZoneConfig
        var localZones: LocalZonesConfig
        var cache: CacheConfig
        var forward: ForwardConfig
        var searchPath: SearchPathConfig
    }

    /// Every handler's section, completed with what other owners parsed — the cluster zone's
    /// `clusterDomain` and `ttl`, the forwarder's resolv.conf, the server's mode and listen
    /// addresses — and checked; warnings are logged, errors name where their key was written.
    static func handlerConfigs(_ config: FednsConfig, logger: Logger) throws(ConfigError) -> HandlerConfigs {
        let locations = config.locations
        let cluster: ClusterZoneConfig.Settings
        do throws(ConfigError) { cluster = try config.clusterZone.settings() } catch { throw error.placed(at: locations.locate(error.field)) }

        var federation = config.federation
        federation.clusterDomain = cluster.clusterDomain
        federation.ttl = cluster.ttl

        var forward = config.forward
        forward.listenAddresses = config.effectiveListen.compactMap { try? Upstream(host: $0.host, port: UInt16($0.port)) }
        do throws(ConfigError) { forward = try forward.withResolvConfUpstreams() } catch {
            throw error.placed(at: locations.locate(error.field))
        }

        var searchPath = config.searchPath
        searchPath.enabled = config.searchPathOn
        searchPath.clusterDomain = cluster.clusterDomain
        searchPath.ttl = cluster.ttl
        // The node's search domains: kubelet appends them to every pod's search list.
        searchPath.hostSearch = FileManager.default.contents(atPath: forward.upstreamResolvConf)
            .map { ResolvConf(parsing: String(decoding: $0, as: UTF8.self)).search } ?? []

        let issues = federation.validate() + searchPath.validate() + config.cache.validate() + forward.validate()
            + forward.servingIssues()
        for issue in issues.warnings {
            logger.warning("configuration", metadata: ["config.field": .string(issue.field), "config.problem": .string(issue.problem)])
        }
        try issues.throwFirstError(in: locations)
        let localZones = try config.localZones.loadingFiles()
        return HandlerConfigs(federation: federation, clusterZone: config.clusterZone, localZones: localZones, cache: config.cache,
                              forward: forward, searchPath: searchPath)
    }
}

/// When the cluster state is first read (docs/architecture.md, cluster state).
public enum FirstLoad: Sendable {
    /// Before `ResolverStack.build` returns: `fedns resolve`, the conformance runner, the fuzzer.
    case whileBuilding
    /// Once `listening` opens (the server calls it when its listeners are bound): a big state file
    /// never keeps the DNS port closed, and until the load completes cluster and federated names are
    /// SERVFAIL with EDE 14 while forwarded names are answered.
    case afterListening(Gate)

    /// Opens once; whoever waits on it goes on from then.
    public final class Gate: Sendable {
        private let state = Mutex<(open: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>((false, [:], 0))

        public init() {}

        public func open() {
            let waiters = state.withLock { s in
                s.open = true
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume() }
        }

        /// Returns once the gate is open, or at once when the task is cancelled.
        public func wait() async {
            let id = state.withLock { s in
                defer { s.next += 1 }
                return s.next
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s in
                        if s.open || Task.isCancelled { return true }
                        s.waiters[id] = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.resume()
            }
        }
    }
}

/// The cluster state file watcher as a service: the first load (after the listeners are bound, when
/// asked), then a look every poll interval; it stops on graceful shutdown.
struct FileSourceService: ServiceLifecycle.Service {
    let source: FileSource
    let listening: FirstLoad.Gate?
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if let listening {
                await listening.wait()
                if Task.isCancelled { return }
                Self.loadFirst(source, logger: logger)
            }
            await source.run()
        }
    }

    static func loadFirst(_ source: FileSource, logger: Logger) {
        do {
            _ = try source.loadOnce()
        } catch {
            // Keep serving forwarded names; cluster names answer SERVFAIL (EDE 14) until a good file appears.
            logger.error("cluster state not loaded yet", metadata: ["cluster.file": .string(source.path),
                                                                   "cluster.error": .string(error.description)])
        }
    }
}
