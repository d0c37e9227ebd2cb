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

/// Answers one listener (one event loop, so no lock) serves itself, each kept with what it was
/// derived from (docs/architecture.md, the hot path): the pre-rendered cluster answers
/// (``PrerenderTable``) and the cache's fresh answers (``CachedAnswerTable``).
///
/// When a new snapshot is installed, the table catches up on the first lookup: it drops only the
/// answers whose Services or addresses the snapshots in between changed (everything when they
/// changed namespaces or the own node, or when the table is further behind than the snapshot's
/// history), so no answer outlives the snapshot it came from for the names that changed. A new
/// configuration empties it.
final class AnswerTable<Key: Hashable, Value> {
    private struct Entry {
        var value: Value
        var dependencies: AnswerDependencies
    }

    private var epoch = AnswerEpoch(snapshot: 0, config: 0)
    private var entries: [Key: Entry] = [:]
    /// The keys of the answers derived from each Service or address (may name answers already gone).
    private var dependents: [DependencyKey: [Key]] = [:]
    /// Answers that any change invalidates.
    private var anyChange: [Key] = []
    /// How many keys `dependents` and `anyChange` hold, gone answers included.
    private var dependentCount = 0
    /// Bounds memory when clients ask for many distinct names in one generation.
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { entries.count }

    /// The answer for `key` when it is valid for `snapshot` (nil before the first sync) under
    /// configuration `config`.
    func lookup(_ key: Key, snapshot: ClusterSnapshot?, config: UInt64) -> Value? {
        catchUp(to: snapshot, config: config)
        return entries[key]?.value
    }

    /// Keeps `value` for `key` when it was derived from the epoch the table is at.
    func store(_ value: Value, for key: Key, epoch valueEpoch: AnswerEpoch, dependencies: AnswerDependencies = .anyChange) {
        guard valueEpoch == epoch else { return }
        if entries.count >= capacity || dependentCount >= 4 * capacity { removeAll() }
        entries[key] = Entry(value: value, dependencies: dependencies)
        switch dependencies {
        case .anyChange:
            anyChange.append(key)
            dependentCount += 1
        case .keys(let keys):
            for k in keys { dependents[k, default: []].append(key) }
            dependentCount += keys.count
        }
    }

    /// Forgets one answer (an expired cache entry).
    func remove(_ key: Key) { entries[key] = nil }

    private func catchUp(to snapshot: ClusterSnapshot?, config: UInt64) {
        let generation = snapshot?.generation ?? 0
        guard generation != epoch.snapshot || config != epoch.config else { return }
        defer { epoch = AnswerEpoch(snapshot: generation, config: config) }
        guard config == epoch.config, let snapshot, generation > epoch.snapshot else { return removeAll() }
        switch snapshot.changes(since: epoch.snapshot) {
        case .everything:
            removeAll()
        case .keys(let changed):
            for key in anyChange { entries[key] = nil }
            dependentCount -= anyChange.count
            anyChange.removeAll(keepingCapacity: true)
            for k in changed {
                guard let keys = dependents.removeValue(forKey: k) else { continue }
                dependentCount -= keys.count
                for key in keys { entries[key] = nil }
            }
        }
    }

    private func removeAll() {
        entries.removeAll(keepingCapacity: true)
        dependents.removeAll(keepingCapacity: true)
        dependentCount = 0
        anyChange.removeAll(keepingCapacity: true)
    }
}

/// Pre-rendered cluster answers, rendered lazily on first use by the slow path.
typealias PrerenderTable = AnswerTable<PrerenderKey, PrerenderedAnswer>

extension AnswerTable where Key == PrerenderKey {
    convenience init() { self.init(capacity: 50_000) }
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
            metrics.countRequest(tcp: tcp, family: ServerMetrics.Family(remote), type: view.qtype)
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
