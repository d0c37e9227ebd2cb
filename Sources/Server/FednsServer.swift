import ClusterState
import DNSWire
import Logging
import NIOCore
import NIOPosix
import Prometheus
import Resolver
import ServiceLifecycle
import Synchronization

/// The DNS listeners and the admin endpoints, as one `Service` (STYLE §7). On graceful shutdown
/// (SIGTERM) it enters lameduck: `/ready` answers 503 while queries are still served, then the
/// listeners close.
public final class FednsServer: ServiceLifecycle.Service, Sendable {
    public struct Bound: Sendable {
        public var dns: [HostPort]
        public var health: HostPort?
        public var ready: HostPort?
        public var metrics: HostPort?
    }

    let config: FednsConfig
    let engine: QueryEngine
    let snapshots: SnapshotStore
    let registry: PrometheusCollectorRegistry?
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let lameduck = Flag()
    let boundAddresses = Mutex<Bound?>(nil)
    /// Called once every listener is bound, with the actual addresses (port 0 resolved).
    let onBound: @Sendable (Bound) -> Void
    /// Whether to probe for a forwarding loop once listening (off where upstreams are scripted).
    let detectsForwardingLoop: Bool

    public init(config: FednsConfig, engine: QueryEngine, snapshots: SnapshotStore, registry: PrometheusCollectorRegistry?,
                group: MultiThreadedEventLoopGroup, logger: Logger, detectsForwardingLoop: Bool = true,
                onBound: @escaping @Sendable (Bound) -> Void = { _ in }) {
        self.config = config
        self.engine = engine
        self.snapshots = snapshots
        self.registry = registry
        self.group = group
        self.logger = logger
        self.onBound = onBound
        self.detectsForwardingLoop = detectsForwardingLoop
    }

    public func run() async throws {
        var channels: [Channel] = []
        var bound = Bound(dns: [])
        let admissions = Admissions(access: AccessList(networks: config.allowedNetworks), identityNames: config.identity != nil,
                                    metrics: engine.metrics)
        do {
            for address in config.effectiveListen {
                let engine = self.engine, snapshots = self.snapshots
                let udp = try await UDPListener.bind(address: address, group: group, receiveBuffer: config.receiveBufferBytes,
                                                     logger: logger) {
                    UDPQueryHandler(engine: engine, snapshots: snapshots, admissions: admissions)
                }
                channels += udp
                // With port 0 the kernel picks one; TCP then takes the same number.
                let actual = HostPort(host: address.host, port: udp.first?.localAddress?.port ?? address.port)
                let tcp = try await TCPListener.bind(address: actual, group: group, settings: config.tcp, metrics: engine.metrics) {
                    TCPQueryHandler(engine: engine, admissions: admissions, connections: $0)
                }
                channels.append(tcp)
                bound.dns.append(actual)
            }
            let kernelDrops = KernelSocketDrops(counter: engine.metrics.socketDrops, ports: Set(bound.dns.map(\.port)))
            for (which, listen) in [("health", config.effectiveHealth), ("ready", config.effectiveReady), ("metrics", config.effectiveMetrics)] {
                guard let address = listen else { continue }
                let handlers = routes(for: which, kernelDrops: kernelDrops, dnsPort: bound.dns.first?.port ?? 53)
                let channel = try await AdminHTTPServer.bind(address: address, group: group, routes: handlers)
                channels.append(channel)
                let actual = HostPort(host: address.host, port: channel.localAddress?.port ?? address.port)
                switch which {
                case "health": bound.health = actual
                case "ready": bound.ready = actual
                default: bound.metrics = actual
                }
            }
        } catch {
            for c in channels { try? await c.close() }
            throw ServerError(message: "cannot listen: \(error)")
        }
        boundAddresses.withLock { $0 = bound }
        logger.info("fedns listening", metadata: [
            "dns.listen": .string(bound.dns.map(\.description).joined(separator: ",")),
            "admin.health": .string(bound.health?.description ?? "off"),
            "admin.ready": .string(bound.ready?.description ?? "off"),
            "admin.metrics": .string(bound.metrics?.description ?? "off"),
        ])
        onBound(bound)

        if detectsForwardingLoop, try await engine.detectForwardingLoop() {
            for c in channels { try? await c.close() }
            throw ServerError(message: "forwarding loop detected: a query fedns forwarded came back to its own listener "
                + "(\(bound.dns.map(\.description).joined(separator: ", "))). An upstream forwards to fedns; "
                + "point upstreams/upstreamResolvConf at servers that do not send queries back (e.g. not the node's "
                + "resolv.conf when it names fedns itself).")
        }

        let lameduckNanos = UInt64(config.lameduckSeconds * 1_000_000_000)
        let openChannels = channels
        await withGracefulShutdownHandler {
            // Serve until shutdown: wait on the first listener; graceful shutdown closes them all.
            for c in openChannels { try? await c.closeFuture.get() }
        } onGracefulShutdown: { [lameduck, logger] in
            lameduck.set()
            logger.info("fedns: lameduck", metadata: ["lameduck.seconds": .stringConvertible(self.config.lameduckSeconds)])
            Task {
                try? await Task.sleep(nanoseconds: lameduckNanos)
                for c in openChannels { c.close(promise: nil) }
            }
        }
    }

    func routes(for which: String, kernelDrops: KernelSocketDrops, dnsPort: Int) -> [String: AdminRoute] {
        let snapshots = self.snapshots, lameduck = self.lameduck
        // Why `/ready` fails, or nil when ready; `fedns_ready` on `/metrics` says the same.
        let notReady: @Sendable () -> String? = {
            if lameduck.isSet { return "lameduck" }
            return snapshots.hasSynced ? nil : "waiting for the first cluster sync"
        }
        switch which {
        case "health":
            return ["/health": { (.ok, "text/plain", Array("OK\n".utf8)) }]
        case "ready":
            return ["/ready": {
                if let why = notReady() { return (.serviceUnavailable, "text/plain", Array("\(why)\n".utf8)) }
                return (.ok, "text/plain", Array("OK\n".utf8))
            }]
        default:
            let exposition = registry.map { MetricsExposition(registry: $0, dnsPort: dnsPort) }
            return ["/metrics": {
                kernelDrops.refresh()
                return (.ok, "text/plain; version=0.0.4; charset=utf-8", exposition?.render(ready: notReady() == nil) ?? [])
            }]
        }
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A flag that can be captured by escaping closures (an `Atomic` cannot be).
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
