import DNSWire
import NIOCore
import Resolver

/// One received packet in, what the server sends back out: the same admission (gate, access list)
/// and engine the listeners use, as a plain function (the conformance runner answers through it
/// in-process). nil is a deliberate drop. The listeners' pre-rendered table is not consulted.
public struct PacketAnswerer: Sendable {
    let engine: QueryEngine
    let admissions: Admissions

    public init(engine: QueryEngine, config: FednsConfig) {
        self.engine = engine
        self.admissions = Admissions(access: AccessList(networks: config.allowedNetworks), identityNames: config.identity != nil,
                                     metrics: engine.metrics)
    }

    /// - Parameter client: the sender's IP address as text (`127.0.0.1`).
    public func answer(_ packet: [UInt8], transport: Transport, client: String) async -> [UInt8]? {
        let remote = try? SocketAddress(ipAddress: client, port: 53)
        switch packet.withUnsafeBytes({ admissions.admit($0, from: remote, tcp: transport == .tcp) }) {
        case .dropped:
            return nil
        case .reply(let bytes):
            return bytes
        case .query(let view):
            let limit = transport == .tcp ? 65535 : view.udpLimit
            return await engine.resolve(packet: packet, view: view, transport: transport, client: client, sizeLimit: limit).bytes
        }
    }
}
