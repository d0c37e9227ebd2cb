import ClusterState
#if canImport(Glibc)
import Glibc
#endif
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
    let lameduck = SetOnceFlag()
    /// Set once a successor has taken the listening sockets (node set-up then leaves its work in place).
    public let handedOver: SetOnceFlag
    /// Set once this process reads from its listening sockets (bound them, or took them over).
    public let serving: SetOnceFlag
    let boundAddresses = Mutex<Bound?>(nil)
    /// Called once every listener is bound, with the actual addresses (port 0 resolved).
    let onBound: @Sendable (Bound) -> Void
    /// Whether to probe for a forwarding loop once listening (off where upstreams are scripted).
    let detectsForwardingLoop: Bool

    public init(config: FednsConfig, engine: QueryEngine, snapshots: SnapshotStore, registry: PrometheusCollectorRegistry?,
                group: MultiThreadedEventLoopGroup, logger: Logger, detectsForwardingLoop: Bool = true, handedOver: SetOnceFlag = SetOnceFlag(),
                serving: SetOnceFlag = SetOnceFlag(), onBound: @escaping @Sendable (Bound) -> Void = { _ in }) {
        self.handedOver = handedOver
        self.serving = serving
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
        let sockets = ListenerSockets()
        var predecessor: Int32?
        if let path = config.handoffSocket {
            // A previous fedns answering at the path hands over its sockets; it serves until we say "taken".
            if let received = try Handoff.receive(path: path, logger: logger) {
                predecessor = received.connection
                sockets.inherit(received.sockets)
                logger.info("hand-over: received the listening sockets of the previous process",
                            metadata: ["handoff.sockets": "\(received.sockets.values.reduce(0) { $0 + $1.count })"])
            }
        }
        // A successor reads nothing until its cluster state has synced: until then the old process answers.
        let reading = predecessor == nil
        var dnsChannels: [Channel] = [], otherChannels: [Channel] = []
        var udpServers: [UDPSocketServer] = []
        var connectionTables: [TCPConnections] = []
        var bound = Bound(dns: [])
        let admissions = Admissions(access: AccessList(networks: config.allowedNetworks), identityNames: config.identity != nil,
                                    metrics: engine.metrics)
        let pending = PendingAnswers()
        do {
            for address in config.effectiveListen {
                let engine = self.engine, snapshots = self.snapshots
                let udp = try await UDPListener.bind(address: address, group: group, receiveBuffer: config.receiveBufferBytes,
                                                     logger: logger, sockets: sockets, reading: reading, engine: engine,
                                                     snapshots: snapshots, admissions: admissions, pending: pending)
                udpServers += udp
                // With port 0 the kernel picks one; TCP then takes the same number.
                let actual = HostPort(host: address.host, port: udp.first?.port ?? address.port)
                let connections = TCPConnections(settings: config.tcp)
                connectionTables.append(connections)
                let tcp = try await TCPListener.bind(address: actual, group: group, settings: config.tcp, metrics: engine.metrics,
                                                     sockets: sockets, reading: reading, connections: connections) {
                    TCPQueryHandler(engine: engine, admissions: admissions, connections: $0)
                }
                dnsChannels.append(tcp)
                bound.dns.append(actual)
            }
            let kernelDrops = KernelSocketDrops(counter: engine.metrics.socketDrops, ports: Set(bound.dns.map(\.port)))
            for (which, listen) in [("health", config.effectiveHealth), ("ready", config.effectiveReady), ("metrics", config.effectiveMetrics)] {
                guard let address = listen else { continue }
                let handlers = routes(for: which, kernelDrops: kernelDrops, dnsPort: bound.dns.first?.port ?? 53)
                let channel = try await AdminHTTPServer.bind(address: address, group: group, routes: handlers, sockets: sockets,
                                                             reading: reading)
                otherChannels.append(channel)
                let actual = HostPort(host: address.host, port: channel.localAddress?.port ?? address.port)
                switch which {
                case "health": bound.health = actual
                case "ready": bound.ready = actual
                default: bound.metrics = actual
                }
            }
        } catch {
            for c in dnsChannels + otherChannels { try? await c.close() }
            for u in udpServers { await u.close() }
            sockets.closeOwned()
            _ = sockets.closeUnused()
            if let predecessor { close(predecessor) }
            throw ServerError(message: "cannot listen: \(error)")
        }
        for key in sockets.closeUnused() {
            logger.info("hand-over: closed a socket this configuration does not listen on", metadata: ["handoff.socket": "\(key)"])
        }
        boundAddresses.withLock { $0 = bound }
        logger.info("fedns listening", metadata: [
            "dns.listen": .string(bound.dns.map(\.description).joined(separator: ",")),
            "admin.health": .string(bound.health?.description ?? "off"),
            "admin.ready": .string(bound.ready?.description ?? "off"),
            "admin.metrics": .string(bound.metrics?.description ?? "off"),
        ])
        if predecessor == nil { serving.set() }
        onBound(bound)
        let channels = dnsChannels + otherChannels

        if let connection = predecessor {
            let synced = await cancelWhenGracefulShutdown { [snapshots] in
                while !snapshots.hasSynced {
                    try? await Task.sleep(nanoseconds: 20_000_000)
                    if Task.isCancelled { return false }
                }
                return true
            }
            guard synced == true else {
                // Stopped before taking over: the previous process keeps serving.
                close(connection)
                for c in channels { try? await c.close() }
                for u in udpServers { await u.close() }
                sockets.closeOwned()
                return
            }
            do { try Handoff.confirm(connection) } catch {
                logger.warning("hand-over: the previous process did not say it stopped; reading anyway", metadata: ["error": "\(error)"])
            }
            for u in udpServers { await u.setReading(true) }
            for c in channels { try? await c.setOption(ChannelOptions.autoRead, value: true).get() }
            serving.set()
            logger.info("hand-over: serving the sockets of the previous process")
        }

        let udpToDrain = udpServers, toClose = dnsChannels + otherChannels, tables = connectionTables
        let handoffListener: HandoffListener? = config.handoffSocket.flatMap { path in
            do { return try HandoffListener(path: path) } catch {
                logger.warning("hand-over: cannot listen for a successor; upgrades will bind anew", metadata: ["error": "\(error)"])
                return nil
            }
        }
        handoffListener?.start(sockets: sockets, logger: logger) { [self] connection in
            Task {
                await self.handOver(udp: udpToDrain, closing: toClose, tables: tables, pending: pending, sockets: sockets,
                                    successor: connection)
            }
        }

        if detectsForwardingLoop, try await engine.detectForwardingLoop() {
            handoffListener?.stop()
            for c in channels { try? await c.close() }
            for u in udpServers { await u.close() }
            sockets.closeOwned()
            throw ServerError(message: "forwarding loop detected: a query fedns forwarded came back to its own listener "
                + "(\(bound.dns.map(\.description).joined(separator: ", "))). An upstream forwards to fedns; "
                + "point upstreams/upstreamResolvConf at servers that do not send queries back (e.g. not the node's "
                + "resolv.conf when it names fedns itself).")
        }

        let lameduckNanos = UInt64(config.lameduckSeconds * 1_000_000_000)
        let openChannels = channels, openUDP = udpServers
        let handedOver = self.handedOver
        await withGracefulShutdownHandler {
            // Serve until shutdown: wait on the first listener; graceful shutdown closes them all.
            for c in openChannels { try? await c.closeFuture.get() }
            for u in openUDP { try? await u.closeFuture.get() }
            // Handed over: nothing to serve, the successor owns the sockets. Wait for SIGTERM (the old
            // pod's deletion): exiting now would make the kubelet restart this container, which would take them back.
            if handedOver.isSet { await cancelWhenGracefulShutdown { try? await Task.sleep(for: .seconds(86400 * 365)) } }
        } onGracefulShutdown: { [lameduck, logger] in
            handoffListener?.stop()
            guard !handedOver.isSet else { return }
            lameduck.set()
            logger.info("fedns: lameduck", metadata: ["lameduck.seconds": .stringConvertible(self.config.lameduckSeconds)])
            Task {
                try? await Task.sleep(nanoseconds: lameduckNanos)
                for c in openChannels { c.close(promise: nil) }
                for u in openUDP { await u.close() }
            }
        }
        sockets.closeOwned()
    }

    /// The successor took the sockets: stop reading, answer what was read, let accepted TCP connections
    /// finish, then close this process's copies (the kernel sockets live on in the successor).
    func handOver(udp: [UDPSocketServer], closing: [Channel], tables: [TCPConnections], pending: PendingAnswers,
                  sockets: ListenerSockets, successor: Int32) async {
        handedOver.set()
        for u in udp { await u.setReading(false) }
        // Listeners stop accepting but stay open until the drain ends: a connection accepted just
        // before is still being set up on its own event loop, and closing its listener meanwhile would
        // close it over a query that has arrived unread (the client sees a reset).
        for c in closing { try? await c.setOption(ChannelOptions.autoRead, value: false).get() }
        await settleAccepted(closing)
        // Only now may the successor read: one reader at a time.
        try? Handoff.send(successor, Handoff.stopped)
        close(successor)
        logger.info("hand-over: the new process took over; draining")
        for table in tables { table.drain() }
        let deadline = ContinuousClock.now + .seconds(max(30, config.tcp.idleTimeoutSeconds * 3))
        while !(pending.isEmpty && tables.allSatisfy({ $0.count == 0 })), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for c in closing { try? await c.close() }
        for u in udp { await u.close() }
        sockets.closeOwned()
        logger.info("hand-over: drained; this process serves nothing and exits on SIGTERM")
    }

    /// Waits until connections the listeners accepted have been set up and admitted to their tables:
    /// each is set up on its own event loop and then handed back to its listener's loop, so a task
    /// queued on every loop and from there on the listener's loop runs after them.
    private func settleAccepted(_ listeners: [Channel]) async {
        for listener in listeners {
            for loop in group.makeIterator() {
                try? await loop.flatSubmit { listener.eventLoop.submit {} }.get()
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
            let exposition = registry.map { MetricsExposition(registry: $0, dnsPort: dnsPort, server: engine.metrics) }
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
public final class SetOnceFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .relaxed) }
    public var isSet: Bool { value.load(ordering: .relaxed) }
}
