import ClusterState
import DNSWire
import NIOCore

/// The key of a pre-rendered answer: the lower-cased wire name and the type.
struct PrerenderKey: Hashable {
    var name: [UInt8]
    var type: UInt16
}

/// What a pre-rendered answer depends on besides the question: the cluster snapshot it was derived
/// from and the configuration (federations…) of the chain that derived it.
public struct AnswerEpoch: Equatable, Sendable {
    public var snapshot: UInt64
    public var config: UInt64
}

/// Pre-rendered answers for one listener (one event loop, so no lock), valid for one snapshot
/// generation (docs/architecture.md, the hot path). Rendered lazily on first use by the slow path.
final class PrerenderTable {
    private var epoch = AnswerEpoch(snapshot: 0, config: 0)
    private var answers: [PrerenderKey: PrerenderedAnswer] = [:]
    /// Bounds memory when clients ask for many distinct names in one generation.
    let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    /// The answer for `key` when it belongs to `current`; a new snapshot or configuration empties the table.
    func lookup(_ key: PrerenderKey, current: AnswerEpoch) -> PrerenderedAnswer? {
        if current != epoch {
            answers.removeAll(keepingCapacity: true)
            epoch = current
            return nil
        }
        return answers[key]
    }

    func store(_ answer: PrerenderedAnswer, for key: PrerenderKey, epoch answerEpoch: AnswerEpoch) {
        guard answerEpoch == epoch else { return }
        if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
        answers[key] = answer
    }
}

/// Whether a client may use this server (`allowedNetworks`): fedns is not an open resolver.
struct AccessList: Sendable {
    let networks: [CIDR]

    func allows(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        switch address {
        case .v4(let a):
            let v = UInt32(bigEndian: a.address.sin_addr.s_addr)
            let bytes = [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
            return networks.contains { $0.contains(bytes) }
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            // An IPv4-mapped address (::ffff:a.b.c.d) is judged as IPv4.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                let v4 = Array(bytes[12..<16])
                return networks.contains { $0.contains(v4) }
            }
            return networks.contains { $0.contains(bytes) }
        case .unixDomainSocket:
            return true
        }
    }
}

/// What a listener does with a packet once the gate and the access list have seen it.
enum Admission {
    /// Nothing to send (a counted drop).
    case dropped
    /// Send these bytes (a gate error reply, or REFUSED for a client outside `allowedNetworks`).
    case reply([UInt8])
    /// Resolve this query.
    case query(QueryView)
}

/// The checks both transports run on every packet, with their metrics (docs/behaviour.md, the gate).
struct Admissions: Sendable {
    let access: AccessList
    let identityNames: Bool
    let metrics: ServerMetrics

    func admit(_ packet: UnsafeRawBufferPointer, from remote: SocketAddress?, tcp: Bool) -> Admission {
        switch Gate.inspect(packet, identityNames: identityNames) {
        case .drop(let reason):
            metrics.drops[reason]?.increment()
            return .dropped
        case .reply(let bytes, let rcode):
            metrics.countResponse(tcp: tcp, rcode: rcode)
            return .reply(bytes)
        case .pass(let view):
            metrics.countRequest(tcp: tcp, type: view.qtype)
            guard access.allows(remote) else {
                // fedns is not an open resolver.
                metrics.refusedByACL.increment()
                metrics.countResponse(tcp: tcp, rcode: .refused)
                return .reply(ErrorReply.make(query: packet, view: view, rcode: .refused))
            }
            return .query(view)
        }
    }
}
