import Clocks
import ClusterState
import DNSWire
import Foundation
import Logging
import NIOPosix
import Resolver
import Server
import ServiceLifecycle
import Synchronization

/// fedns built in this process from the scenario's config, on virtual time, with scripted upstreams
/// behind the forwarder's transport seam. Queries go through the same gate, access list and engine
/// as the listeners', as bytes; cluster changes are installed straight into the `SnapshotStore`.
public final class InProcessTarget: ScenarioTarget {
    public let script: UpstreamScript
    let clock = ManualClock()
    let stack: ResolverStack
    let answerer: PacketAnswerer
    let background: Task<Void, Never>
    /// How much virtual time one query may take before it counts as unanswered (a stub gives up after 5 s).
    let queryLimitNanoseconds: UInt64 = 30_000_000_000

    /// The event loops the stack is given; unused (no sockets), shared by every in-process run.
    static let group = MultiThreadedEventLoopGroup.singleton

    /// - Parameter backgroundOwner: the `ManualClock.owner` of the background services' sleeps.
    public init(_ scenario: Scenario, backgroundOwner: Int = 0) throws {
        script = UpstreamScript(scenario.upstreams)
        var config = try ConfigLoader.apply(yaml: scenario.configYAML, to: FednsConfig())
        config.clusterStateFile = nil
        if config.forward.upstreams.isEmpty && config.forward.stubDomains.isEmpty {
            // An address no script answers: forwarding fails at once, as with a closed port.
            config.forward.upstreams = [try Upstream(host: "192.0.2.254")]
        }
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        var logger = Logger(label: "fedns.conformance")
        logger.logLevel = .critical
        stack = try ResolverStack.build(config: config, group: Self.group, logger: logger, time: clock,
                                        transport: ScriptedTransport(script: script, clock: clock))
        answerer = PacketAnswerer(engine: stack.engine, config: config)
        if let objects = scenario.cluster {
            stack.snapshots.install(try ObjectLoader.load(yaml: ScenarioRunner.stateFile(objects)))
        }
        let services = stack.services
        background = Task {
            await ManualClock.$owner.withValue(backgroundOwner) {
                await withTaskGroup(of: Void.self) { group in
                    for service in services { group.addTask { try? await service.run() } }
                }
            }
        }
    }

    public func send(_ packet: [UInt8], over transport: QuerySpec.Transport, step: Int, patience: Double) async -> [UInt8]? {
        let answerer = self.answerer
        let done = Mutex<(finished: Bool, bytes: [UInt8]?)>((false, nil))
        let query = Task {
            await ManualClock.$owner.withValue(step) {
                let bytes = await answerer.answer(packet, transport: transport == .tcp ? .tcp : .udp, client: "127.0.0.1")
                done.withLock { $0 = (true, bytes) }
            }
        }
        let start = clock.nowNanoseconds()
        // Real time is only a guard against a query that neither finishes nor waits on the clock.
        let hungAfter = ContinuousClock.now + .seconds(20)
        while !done.withLock({ $0.finished }) {
            if ContinuousClock.now > hungAfter {
                query.cancel()
                return nil
            }
            if clock.isSleeping(owner: step), let next = clock.nextDeadline {
                // The query waits on the clock and nothing else: time may move to the next deadline.
                guard next - start <= queryLimitNanoseconds else {
                    query.cancel()
                    clock.advance(to: start + queryLimitNanoseconds)
                    return nil
                }
                clock.advance(to: next)
            }
            try? await Task.sleep(nanoseconds: 100_000)
        }
        return done.withLock { $0.bytes }
    }

    public func install(cluster objects: [ClusterObject]) async throws {
        stack.snapshots.install(try ObjectLoader.load(yaml: ScenarioRunner.stateFile(objects)))
    }

    /// Advances virtual time deadline by deadline, letting woken background work (health probes)
    /// run to its next sleep before moving on.
    public func pass(seconds: Double) async {
        let target = clock.nowNanoseconds() + UInt64(seconds * 1_000_000_000)
        while let next = clock.nextDeadline, next <= target {
            clock.advance(to: next)
            await settle()
        }
        clock.advance(to: target)
        await settle()
    }

    /// Waits until nothing has touched the clock for a few milliseconds of real time.
    func settle() async {
        var last = -1, quiet = 0
        while quiet < 5 {
            try? await Task.sleep(nanoseconds: 500_000)
            let now = clock.events
            if now == last { quiet += 1 } else { quiet = 0; last = now }
        }
    }

    public func tearDown() async {
        background.cancel()
        await background.value
    }
}

/// The forwarder's transport over the scenario's scripted upstreams: no sockets; waiting (drops,
/// delays, timeouts) happens on the virtual clock.
struct ScriptedTransport: UpstreamTransport {
    let script: UpstreamScript
    let clock: ManualClock

    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        guard let scripted = script.upstream(at: upstream.host, port: upstream.port) else {
            return .networkError("connection refused (no scripted upstream at \(upstream))")
        }
        let plan = script.plan(scripted, query: query, transport: tcp ? .tcp : .udp)
        let delay = UInt64(plan.delay * 1_000_000_000)
        if delay >= timeoutNanoseconds {
            try? await clock.sleep(nanoseconds: timeoutNanoseconds)
            return .timeout
        }
        if delay > 0 { try? await clock.sleep(nanoseconds: delay) }
        for datagram in plan.datagrams {
            // A TCP stream carries one framed message after another; UDP datagrams arrive one by one.
            if let reply = accept(datagram) { return .reply(reply) }
        }
        if plan.close { return .networkError(tcp ? "connection closed" : "port unreachable") }
        try? await clock.sleep(nanoseconds: timeoutNanoseconds - delay)
        return .timeout
    }
}
