import ClusterState
import DNSWire
import Foundation
import Logging
import Metrics
import NameExpansion
import NIOCore
import NIOPosix
import NodeSetup
import Prometheus
import Resolver
import ServiceLifecycle
import Synchronization
import YAMLReader

/// Builds everything from a resolved configuration and runs it until SIGTERM/SIGINT.
public struct FednsApp {
    public let config: FednsConfig
    /// Called once the listeners are bound (tests use it to learn port-0 addresses).
    public var onBound: @Sendable (FednsServer.Bound) -> Void = { _ in }
    /// The cluster source other than the file (the Kubernetes API source, which the executable builds so
    /// that this module does not link TLS): given the store and the logger, the services that feed it.
    /// They run in the background beside the listeners.
    public var clusterSource: (@Sendable (SnapshotStore, Logger) throws -> [any ServiceLifecycle.Service])?

    /// Set with `--kube-dns-config-dir`: the ConfigMap keys are re-read when they change.
    public let reload: ConfigReload?

    public init(config: FednsConfig, reload: ConfigReload? = nil) {
        self.config = config
        self.reload = reload
    }

    public func run() async throws {
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "fedns")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(MetricsExposition.factory(registry: registry))

        let handedOver = SetOnceFlag(), serving = SetOnceFlag()
        var first: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if config.nodeSetup.enabled {
            // Before binding: the listen addresses must be on an interface first.
            let addresses = config.effectiveListen.compactMap { hp in IPAddress(hp.host).map { ListenAddress(ip: $0, port: hp.port) } }
            let setup = NodeSetup(settings: config.nodeSetup, addresses: addresses)
            try NodeSetupService.start(setup, logger: logger)
            // First in the group, so it is shut down last: the addresses stay until the listeners have drained.
            first.append(.init(service: NodeSetupService(setup: setup, handedOver: handedOver, serving: serving, logger: logger),
                               successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup))
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: Self.usableCores)
        // Listeners first: the state file is read once they are bound (DNS answers meanwhile).
        let listening = FirstLoad.Gate()
        let stack = try ResolverStack.build(config: config, group: group, logger: logger, firstLoad: .afterListening(listening))
        var background = stack.services
        if let clusterSource {
            // The source starts once the listeners are bound: until its first sync, cluster names get SERVFAIL (EDE 14).
            background += try clusterSource(stack.snapshots, logger).map { AfterBound(listening: listening, service: $0) }
        }
        if let reload {
            background.append(KubeDNSConfigWatcher(reload: reload, engine: stack.engine, snapshots: stack.snapshots, group: group,
                                                   probes: stack.probes, logger: logger))
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = first + background.map {
            .init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup)
        }
        let server = FednsServer(config: config, engine: stack.engine, snapshots: stack.snapshots, registry: registry,
                                 group: group, logger: logger, handedOver: handedOver, serving: serving, onBound: { [onBound] in
                                     onBound($0)
                                     listening.open()
                                 })
        services.append(.init(service: server, successTerminationBehavior: .gracefullyShutdownGroup,
                              failureTerminationBehavior: .gracefullyShutdownGroup))
        var groupConfig = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfig.gracefulShutdownSignals = [.sigterm, .sigint]
        let serviceGroup = ServiceGroup(configuration: groupConfig)
        do {
            try await serviceGroup.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
        logger.info("fedns stopped")
    }

    /// Everything `serve` would reject before listening: handler settings and zone files.
    public static func validate(_ config: FednsConfig) throws {
        _ = try ResolverStack.handlerConfigs(config, logger: Logger(label: "fedns.config"))
    }

    /// Loads a cluster state file the way the server would, for `check-config`.
    public static func checkClusterState(path: String, config: FednsConfig) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(field: "--cluster-state", problem: "cannot read '\(path)'")
        }
        // The reader the file source uses: JSON through the streaming decoder, YAML through Yams.
        _ = try ObjectLoader.read(bytes: Array(data), file: path)
    }

    /// One event loop per CPU this process may run on: NIO's count follows cgroup limits but not
    /// the affinity mask (taskset, a static CPU manager policy), and two loops on one CPU only add
    /// context switches.
    static var usableCores: Int {
        // `Cpus_allowed` in /proc/self/status is the affinity mask in hex, comma-separated words.
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return System.coreCount }
        let allowed = line.dropFirst("Cpus_allowed:".count).reduce(0) { count, ch in
            count + (ch.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        return max(1, min(System.coreCount, allowed))
    }
}

/// Runs `service` once the listeners are bound.
struct AfterBound: ServiceLifecycle.Service {
    let listening: FirstLoad.Gate
    let service: any ServiceLifecycle.Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await listening.wait() }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
