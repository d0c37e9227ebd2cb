import Clocks
import ClusterState
import DNSWire
import Foundation
import Logging
import Metrics
import NIOCore
import Resolver
import ServiceLifecycle

/// How to re-read the configuration when the kube-dns ConfigMap directory changes (DESIGN §7).
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
/// not ConfigMap keys, so a reload never has to change them.
struct KubeDNSConfigWatcher: ServiceLifecycle.Service {
    static let keys = ["federations", "stubDomains", "upstreamNameservers"]

    let reload: ConfigReload
    let engine: QueryEngine
    let snapshots: SnapshotStore
    let group: any EventLoopGroup
    let logger: Logger
    var interval: Duration = .seconds(1)
    private let succeeded = Counter(label: "fedns_config_reloads_total", dimensions: [("result", "success")])
    private let failed = Counter(label: "fedns_config_reloads_total", dimensions: [("result", "failure")])

    init(reload: ConfigReload, engine: QueryEngine, snapshots: SnapshotStore, group: any EventLoopGroup, logger: Logger) {
        self.reload = reload
        self.engine = engine
        self.snapshots = snapshots
        self.group = group
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { probes in
                var seen = contents()
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    let now = contents()
                    guard now != seen else { continue }
                    seen = now
                    if let forward = apply() {
                        // The new forwarder's down upstreams need probing; the old one's probes no longer matter.
                        probes.cancelAll()
                        probes.addTask { await forward.runHealthProbes() }
                    }
                }
                probes.cancelAll()
            }
        }
    }

    /// Builds and installs the chain for the new configuration; nil when it was rejected.
    func apply() -> ForwardHandler? {
        do {
            let config = try reload.resolve()
            try FednsApp.validate(config)
            let (chain, forward) = try ResolverStack.makeChain(config: config, snapshots: snapshots, group: group, logger: logger,
                                                               time: SystemTimeSource(), transport: nil)
            engine.install(chain)
            succeeded.increment()
            logger.info("kube-dns configuration reloaded", metadata: [
                "config.dir": .string(reload.directory),
                "config.federations": .string(config.federation.federations.keys.sorted().joined(separator: ",")),
            ])
            return forward
        } catch {
            failed.increment()
            logger.error("kube-dns configuration rejected; the last good configuration stays", metadata: [
                "config.dir": .string(reload.directory), "config.error": .string("\(error)"),
            ])
            return nil
        }
    }

    /// The keys' current bytes (ConfigMap volumes swap a `..data` symlink, so content is what to compare).
    func contents() -> [Data?] {
        Self.keys.map { FileManager.default.contents(atPath: (reload.directory as NSString).appendingPathComponent($0)) }
    }
}
