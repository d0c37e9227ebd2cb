// Fuzz target for the whole per-query path: gate, access list, search path, federation, cluster
// zone, local zones, cache and forwarder (upstreams answer NXDOMAIN in-process), on arbitrary
// packets. Nothing a client sends may crash fedns, and every query that passes the gate must get
// an answer the codec can read.
//
// Fuzz:   scripts/fuzz.sh SECONDS CORPUS FuzzEngine
// Replay: swift run FuzzEngine FILE…
import ClusterState
import DNSWire
import Dispatch
import Foundation
import FuzzDriver
import Logging
import NameExpansion
import NIOPosix
import Resolver
import Server

/// Every upstream answers NXDOMAIN at once, so forwarded and chased names end without sockets.
struct NXDomainUpstream: UpstreamTransport {
    func exchange(_ query: [UInt8], with upstream: Upstream, tcp: Bool, timeoutNanoseconds: UInt64,
                  accept: @escaping @Sendable ([UInt8]) -> UpstreamReply?) async -> TryOutcome {
        guard let q = try? WireCodec.decode(query) else { return .timeout }
        var reply = Message.response(to: q, rcode: .nxDomain)
        reply.authority = [ResourceRecord(name: .root, type: .soa, ttl: 60, rdata: RData.soa(
            mname: DomainName(labels: ["a", "root-servers", "net"]), rname: DomainName(labels: ["nstld", "example"]),
            serial: 1, refresh: 1800, retry: 900, expire: 604800, minimum: 60))]
        return accept(WireCodec.encode(reply)).map(TryOutcome.reply) ?? .timeout
    }
}

enum Engine {
    static let cluster = """
    apiVersion: v1
    kind: List
    items:
    - {apiVersion: v1, kind: Node, metadata: {name: n1, labels: {topology.kubernetes.io/zone: z1, topology.kubernetes.io/region: r1}}}
    - {apiVersion: v1, kind: Namespace, metadata: {name: ns}}
    - {apiVersion: v1, kind: Namespace, metadata: {name: fed}}
    - apiVersion: v1
      kind: Service
      metadata: {name: web, namespace: ns}
      spec: {type: ClusterIP, clusterIP: 10.96.0.10, clusterIPs: [10.96.0.10, "fd00::10"], ports: [{name: http, port: 80, protocol: TCP}]}
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata: {name: web-1, namespace: ns, labels: {kubernetes.io/service-name: web}}
      addressType: IPv4
      endpoints: [{addresses: [10.244.0.5], hostname: w0, conditions: {ready: true}}, {addresses: [10.244.0.6]}]
      ports: [{name: http, port: 80, protocol: TCP}]
    - apiVersion: v1
      kind: Service
      metadata: {name: db, namespace: ns}
      spec: {clusterIP: None, ports: [{name: pg, port: 5432, protocol: TCP}]}
    - apiVersion: discovery.k8s.io/v1
      kind: EndpointSlice
      metadata: {name: db-1, namespace: ns, labels: {kubernetes.io/service-name: db}}
      addressType: IPv4
      endpoints: [{addresses: [10.244.0.7], hostname: db-0, conditions: {ready: false}}]
      ports: [{name: pg, port: 5432, protocol: TCP}]
    - apiVersion: v1
      kind: Service
      metadata: {name: ext, namespace: fed}
      spec: {type: ExternalName, externalName: web.ns.svc.cluster.local}
    - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: ns}, status: {phase: Running, podIP: 127.0.0.1}}
    """

    /// One in-process fedns (node-local with the search path on, a federation named like a namespace).
    static let answerer: PacketAnswerer = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-fuzz-\(getpid())")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let state = dir.appendingPathComponent("cluster.yaml").path
        try! cluster.write(toFile: state, atomically: true, encoding: .utf8)
        var config = try! ConfigLoader.apply(yaml: """
            federations: {fed: example.com, myfed: example.org}
            zonalNameFormat: zone-region
            pods: verified
            searchPath: {enabled: true}
            identity: fuzz
            upstreams: ["192.0.2.1:53"]
            stubDomains: {"example.org": ["192.0.2.2"]}
            """, to: FednsConfig())
        config.clusterStateFile = state
        config.nodeName = "n1"
        config.listen = [HostPort(host: "127.0.0.1", port: 53)]
        var logger = Logger(label: "fedns.fuzz")
        logger.logLevel = .critical
        let stack = try! ResolverStack.build(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                                             transport: NXDomainUpstream())
        return PacketAnswerer(engine: stack.engine, config: config)
    }()

    static func exercise(_ bytes: [UInt8], tcp: Bool) {
        let done = DispatchSemaphore(value: 0)
        let reply = ReplyBox()
        Task {
            reply.value = await answerer.answer(bytes, transport: tcp ? .tcp : .udp, client: "127.0.0.1")
            done.signal()
        }
        done.wait()
        guard case .pass = Gate.inspect(bytes, identityNames: true) else { return }
        guard let answer = reply.value else { preconditionFailure("a query that passed the gate got no answer") }
        guard let message = try? WireCodec.decode(answer) else { preconditionFailure("fedns sent an answer it cannot read") }
        precondition(message.header.id == UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        precondition(tcp || answer.count <= 1232, "a UDP answer over the limit")
    }
}

final class ReplyBox: @unchecked Sendable { var value: [UInt8]? }

@main
struct Fuzz {
    static func main() {
        _ = Engine.answerer
        // The first byte picks the transport, so both UDP limits and TCP are explored.
        FuzzDriver.run { bytes in Engine.exercise(bytes, tcp: bytes.first.map { $0 & 1 == 1 } ?? false) }
    }
}
