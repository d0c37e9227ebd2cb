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

/// Pre-rendered answers for one listener (one event loop, so no lock), rendered lazily on first use
/// by the slow path (docs/architecture.md, the hot path).
///
/// Each answer is kept with what it was derived from. When a new snapshot is installed, the table
/// catches up on the first lookup: it drops only the answers whose Services or addresses the
/// snapshots in between changed (everything when they changed namespaces or the own node, or when
/// the table is further behind than the snapshot's history), so no cluster answer outlives the
/// snapshot it came from for the names that changed. A new configuration empties it.
final class PrerenderTable {
    private struct Entry {
        var answer: PrerenderedAnswer
        var dependencies: AnswerDependencies
    }

    private var epoch = AnswerEpoch(snapshot: 0, config: 0)
    private var answers: [PrerenderKey: Entry] = [:]
    /// The keys of the answers derived from each Service or address (may name answers already gone).
    private var dependents: [DependencyKey: [PrerenderKey]] = [:]
    private var dependentCount = 0
    /// Answers that any change invalidates.
    private var anyChange: [PrerenderKey] = []
    /// Bounds memory when clients ask for many distinct names in one generation.
    let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    var count: Int { answers.count }

    /// The answer for `key` when it is valid for `snapshot` under configuration `config`.
    func lookup(_ key: PrerenderKey, snapshot: ClusterSnapshot, config: UInt64) -> PrerenderedAnswer? {
        catchUp(to: snapshot, config: config)
        return answers[key]?.answer
    }

    /// The answer for `key` when it belongs to `current`; without the snapshot to say what changed,
    /// a new generation or configuration empties the table.
    func lookup(_ key: PrerenderKey, current: AnswerEpoch) -> PrerenderedAnswer? {
        if current != epoch {
            removeAll()
            epoch = current
            return nil
        }
        return answers[key]?.answer
    }

    /// Keeps `answer` for `key` when it was derived from the epoch the table is at.
    func store(_ answer: PrerenderedAnswer, for key: PrerenderKey, epoch answerEpoch: AnswerEpoch,
               dependencies: AnswerDependencies = .anyChange) {
        guard answerEpoch == epoch else { return }
        if answers.count >= capacity || dependentCount >= 4 * capacity { removeAll() }
        answers[key] = Entry(answer: answer, dependencies: dependencies)
        switch dependencies {
        case .anyChange:
            anyChange.append(key)
        case .keys(let keys):
            for k in keys { dependents[k, default: []].append(key) }
            dependentCount += keys.count
        }
    }

    private func catchUp(to snapshot: ClusterSnapshot, config: UInt64) {
        guard snapshot.generation != epoch.snapshot || config != epoch.config else { return }
        defer { epoch = AnswerEpoch(snapshot: snapshot.generation, config: config) }
        guard config == epoch.config, snapshot.generation > epoch.snapshot else { return removeAll() }
        switch snapshot.changes(since: epoch.snapshot) {
        case .everything:
            removeAll()
        case .keys(let changed):
            for key in anyChange { answers[key] = nil }
            anyChange.removeAll(keepingCapacity: true)
            for k in changed {
                guard let keys = dependents.removeValue(forKey: k) else { continue }
                dependentCount -= keys.count
                for key in keys { answers[key] = nil }
            }
        }
    }

    private func removeAll() {
        answers.removeAll(keepingCapacity: true)
        dependents.removeAll(keepingCapacity: true)
        dependentCount = 0
        anyChange.removeAll(keepingCapacity: true)
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
