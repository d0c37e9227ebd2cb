import DNSWire
import NIOCore
import Resolver

/// One received packet in, what the server sends back out: the gate, the access list, then the
/// engine — the listeners' slow path as a plain function (the conformance runner answers through
/// it in-process). nil is a deliberate drop.
public struct PacketAnswerer: Sendable {
    let engine: QueryEngine
    let access: AccessList
    let identityNames: Bool

    public init(engine: QueryEngine, config: FednsConfig) {
        self.engine = engine
        self.access = AccessList(networks: config.allowedNetworks)
        self.identityNames = config.identity != nil
    }

    /// - Parameter client: the sender's IP address as text (`127.0.0.1`).
    public func answer(_ packet: [UInt8], transport: Transport, client: String) async -> [UInt8]? {
        switch Gate.inspect(packet, identityNames: identityNames) {
        case .drop:
            return nil
        case .reply(let bytes, _):
            return bytes
        case .pass(let view):
            guard access.allows(try? SocketAddress(ipAddress: client, port: 53)) else {
                return packet.withUnsafeBytes { ErrorReply.make(query: $0, view: view, rcode: .refused) }
            }
            let limit = transport == .tcp ? 65535 : view.udpLimit
            return await engine.resolve(packet: packet, view: view, transport: transport, client: client, sizeLimit: limit).bytes
        }
    }
}
