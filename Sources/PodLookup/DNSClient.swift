import DNSWire
import NameExpansion
import NIOCore
import Resolver

/// Asks one DNS server over UDP, then over TCP when the reply is truncated, the way a stub resolver
/// does — the forwarder's own exchange (fresh random ID and source port, RFC 5452 reply matching).
struct DNSClient: Sendable {
    let server: Upstream
    /// Per-query wait.
    let timeoutNanoseconds: UInt64
    let exchange: StubExchange

    /// `HOST:PORT`, `HOST` (port 53), `[V6]:PORT` or a bare IPv6 address; nil when it is none of these.
    init?(server: String, timeoutMilliseconds: Int = 2000, group: any EventLoopGroup) {
        guard let upstream = try? Upstream(parsing: server, field: "--server") else { return nil }
        self.server = upstream
        self.timeoutNanoseconds = UInt64(timeoutMilliseconds) * 1_000_000
        self.exchange = StubExchange(group: group)
    }

    var host: String { server.host }
    var port: UInt16 { server.port }

    func ask(_ name: DomainName, _ type: RRType) async -> Exchange {
        let (outcome, overTCP) = await exchange.ask(Question(name: name, type: type), server: server, timeoutNanoseconds: timeoutNanoseconds)
        let transport = overTCP ? "tcp" : "udp"
        switch outcome {
        case .reply(let reply):
            guard let message = reply.decoded() else { return .failed("malformed reply", transport: transport) }
            return Exchange(reply: message, error: nil, transport: transport)
        case .timeout: return .failed(overTCP ? "truncated over UDP; TCP: timed out" : "timed out", transport: transport)
        case .networkError(let why): return .failed(overTCP ? "truncated over UDP; TCP: \(why)" : why, transport: transport)
        }
    }
}
