import Clocks
import ClusterState
import DNSWire
import Foundation
import Logging
import Metrics
import NIOCore
import Resolver
import ServiceLifecycle

/// How to re-read the configuration when the kube-dns ConfigMap directory changes (docs/configuration.md).
public struct ConfigReload: Sendable {
    /// The `--kube-dns-config-dir` directory.
    public var directory: String
    /// Resolves the whole configuration again (flags, environment, ConfigMap keys, file).
    public var resolve: @Sendable () throws -> FednsConfig
    public init(directory: String, resolve: @escaping @Sendable () throws -> FednsConfig) {
        self.directory = directory
        self.resolve = resolve
    }
}

/// Watches the kube-dns ConfigMap keys and installs a new chain when they change. An invalid update
/// is rejected whole and the last good configuration keeps serving; both are counted in
/// `fedns_config_reloads_total{result}`. Settings that need a restart (listen addresses, mode) are
/// not ConfigMap keys, so a reload never has to change them. A reload replaces everything the old
/// chain started: its forwarder's health probes stop and the new forwarder's start (`HealthProbes`).
struct KubeDNSConfigWatcher: ServiceLifecycle.Service {
    static let keys = ["federations", "stubDomains", "upstreamNameservers"]

    let reload: ConfigReload
    let engine: QueryEngine
    let snapshots: SnapshotStore
    let group: any EventLoopGroup
    let probes: HealthProbes
    let logger: Logger
    /// The time source and transport of the chains it builds (the stack's; tests pass their own).
    let time: any TimeSource
    let transport: (any UpstreamTransport)?
    var interval: Duration = .seconds(1)
    private let succeeded = Counter(label: "fedns_config_reloads_total", dimensions: [("result", "success")])
    private let failed = Counter(label: "fedns_config_reloads_total", dimensions: [("result", "failure")])

    init(reload: ConfigReload, engine: QueryEngine, snapshots: SnapshotStore, group: any EventLoopGroup, probes: HealthProbes,
         logger: Logger, time: any TimeSource = SystemTimeSource(), transport: (any UpstreamTransport)? = nil) {
        self.reload = reload
        self.engine = engine
        self.snapshots = snapshots
        self.group = group
        self.probes = probes
        self.logger = logger
        self.time = time
        self.transport = transport
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var seen = contents()
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let now = contents()
                guard now != seen else { continue }
                seen = now
                apply()
            }
        }
    }

    /// Builds and installs the chain for the new configuration and moves the health probes to its
    /// forwarder; false when the configuration was rejected (the old chain keeps serving, probes and all).
    @discardableResult
    func apply() -> Bool {
        do {
            let config = try reload.resolve()
            try FednsApp.validate(config)
            let (chain, forward) = try ResolverStack.makeChain(config: config, snapshots: snapshots, group: group, logger: logger,
                                                               time: time, transport: transport)
            engine.install(chain)
            probes.replace(with: forward)
            succeeded.increment()
            logger.info("kube-dns configuration reloaded", metadata: [
                "config.dir": .string(reload.directory),
                "config.federations": .string(config.federation.federations.keys.sorted().joined(separator: ",")),
            ])
            return true
        } catch {
            failed.increment()
            logger.error("kube-dns configuration rejected; the last good configuration stays", metadata: [
                "config.dir": .string(reload.directory), "config.error": .string("\(error)"),
            ])
            return false
        }
    }

    /// The keys' current bytes (ConfigMap volumes swap a `..data` symlink, so content is what to compare).
    func contents() -> [Data?] {
        Self.keys.map { FileManager.default.contents(atPath: (reload.directory as NSString).appendingPathComponent($0)) }
    }
}
