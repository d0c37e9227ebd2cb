import ClusterState
#if canImport(Glibc)
import Glibc
#endif
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
    /// A class, so that a lookup retains one reference instead of copying the answer's arrays.
    private final class Entry {
        let value: Value
        init(value: Value) { self.value = value }
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

    /// `body` applied to the answer for `key`, borrowed from the table (the hot path: no copy of its arrays).
    func withValue<R>(_ key: Key, snapshot: ClusterSnapshot?, config: UInt64, _ body: (borrowing Value) -> R?) -> R? {
        catchUp(to: snapshot, config: config)
        guard let entry = entries[key] else { return nil }
        return body(entry.value)
    }

    /// Keeps `value` for `key` when it was derived from the epoch the table is at.
    func store(_ value: Value, for key: Key, epoch valueEpoch: AnswerEpoch, dependencies: AnswerDependencies = .anyChange) {
        guard valueEpoch == epoch else { return }
        if entries.count >= capacity || dependentCount >= 4 * capacity { removeAll() }
        entries[key] = Entry(value: value)
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
/// The networks are kept as masked integers, so that judging a client allocates nothing.
struct AccessList: Sendable {
    let networks: [CIDR]
    private let v4: [(network: UInt32, mask: UInt32)]
    private let v6: [(network: UInt128, mask: UInt128)]

    init(networks: [CIDR]) {
        self.networks = networks
        v4 = networks.filter { $0.network.count == 4 }.map { cidr in
            let mask: UInt32 = cidr.prefixLength == 0 ? 0 : ~0 << (32 - cidr.prefixLength)
            return (cidr.network.reduce(0) { $0 << 8 | UInt32($1) } & mask, mask)
        }
        v6 = networks.filter { $0.network.count == 16 }.map { cidr in
            let mask: UInt128 = cidr.prefixLength == 0 ? 0 : ~0 << (128 - cidr.prefixLength)
            return (cidr.network.reduce(0) { $0 << 8 | UInt128($1) } & mask, mask)
        }
    }

    func allows(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        switch address {
        case .v4(let a):
            return allows(ipv4: UInt32(bigEndian: a.address.sin_addr.s_addr))
        case .v6(let a):
            var sin6 = a.address.sin6_addr
            return allows(ipv6: withUnsafeBytes(of: &sin6) { Self.integer($0) })
        case .unixDomainSocket:
            return true
        }
    }

    /// The same judgement on a source address as recvmmsg fills it in (a `sockaddr_in` or `sockaddr_in6`).
    func allows(_ source: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(source.pointee.sa_family) {
        case AF_INET:
            return source.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { allows(ipv4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr)) }
        case AF_INET6:
            return source.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                var sin6 = p.pointee.sin6_addr
                return allows(ipv6: withUnsafeBytes(of: &sin6) { Self.integer($0) })
            }
        default:
            return false
        }
    }

    // Loops over indices rather than `contains(where:)`: unspecialized (a debug build) the latter allocates an iterator.
    private func allows(ipv4 address: UInt32) -> Bool {
        for i in v4.indices where address & v4[i].mask == v4[i].network { return true }
        return false
    }

    private func allows(ipv6 address: UInt128) -> Bool {
        // An IPv4-mapped address (::ffff:a.b.c.d) is judged as IPv4.
        if address >> 32 == 0xffff { return allows(ipv4: UInt32(truncatingIfNeeded: address)) }
        for i in v6.indices where address & v6[i].mask == v6[i].network { return true }
        return false
    }

    /// The 16 bytes of an IPv6 address as one big-endian integer.
    private static func integer(_ bytes: UnsafeRawBufferPointer) -> UInt128 {
        bytes.reduce(0) { $0 << 8 | UInt128($1) }
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
        admit(packet, verdict: Gate.inspect(packet, identityNames: identityNames), family: ServerMetrics.Family(remote), tcp: tcp) {
            access.allows(remote)
        }
    }

    /// The same checks on a datagram and its source as recvmmsg fills them in, counted in the
    /// listener thread's `tally`.
    /// The gate lower-cases the name into `nameBuffer` (the thread's, reused: no allocation).
    func admit(_ packet: UnsafeRawBufferPointer, from source: UnsafePointer<sockaddr>, tally: ListenerTally,
               nameBuffer: inout [UInt8]) -> Admission {
        let family: ServerMetrics.Family = Int32(source.pointee.sa_family) == AF_INET6 ? .ipv6 : .ipv4
        let verdict = Gate.inspect(packet, identityNames: identityNames, nameBuffer: &nameBuffer)
        return admit(packet, verdict: verdict, family: family, tcp: false, tally: tally) { access.allows(source) }
    }

    private func admit(_ packet: UnsafeRawBufferPointer, verdict: GateVerdict, family: ServerMetrics.Family, tcp: Bool,
                       tally: ListenerTally? = nil, allowed: () -> Bool) -> Admission {
        switch verdict {
        case .drop(let reason):
            metrics.drops[reason]?.increment()
            return .dropped
        case .reply(let bytes, let rcode):
            metrics.countResponse(tcp: tcp, rcode: rcode, tally: tally)
            return .reply(bytes)
        case .pass(let view):
            metrics.countRequest(tcp: tcp, family: family, type: view.qtype, tally: tally)
            guard allowed() else {
                // fedns is not an open resolver.
                metrics.refusedByACL.increment()
                metrics.countResponse(tcp: tcp, rcode: .refused, tally: tally)
                return .reply(ErrorReply.make(query: packet, view: view, rcode: .refused))
            }
            return .query(view)
        }
    }
}
