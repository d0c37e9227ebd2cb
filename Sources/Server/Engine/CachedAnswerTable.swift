import ClusterState
import DNSWire
import Resolver

/// What a listener files a cached answer under: the cache's key as the gate saw it (lower-cased
/// wire name, type, DO, CD; the class is always IN here).
struct CachedAnswerKey: Hashable {
    var name: [UInt8]
    var type: UInt16
    var dnssecOK: Bool
    var checkingDisabled: Bool

    init(_ view: QueryView) {
        name = view.lowercasedWireName
        type = view.qtype.rawValue
        dnssecOK = view.edns?.dnssecOK ?? false
        checkingDisabled = view.checkingDisabled
    }

    func hash(into hasher: inout Hasher) {
        name.hashWireName(into: &hasher)
        hasher.combine(type)
        hasher.combine(dnssecOK)
        hasher.combine(checkingDisabled)
    }
}

extension PrerenderKey {
    // The synthesized hash feeds the name to the hasher a byte at a time (3 % of a cluster answer's
    // instructions under callgrind); as one run of bytes it is a few calls.
    func hash(into hasher: inout Hasher) {
        name.hashWireName(into: &hasher)
        hasher.combine(type)
    }
}

extension [UInt8] {
    /// Hashes the bytes as one run (their count first, so that keys of different lengths stay apart).
    func hashWireName(into hasher: inout Hasher) {
        hasher.combine(count)
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// The cache's fresh answers that one listener serves itself: a repeat forwarded name is answered
/// where the packet was read, from the stored bytes with the TTLs counted down, without the chain, a
/// task or a decode. Filled by the slow path, which learns that the chain passes this question
/// straight to the cache; that holds while what the chain's routing read stays the same (the
/// answer's dependencies: for most names only namespaces and the configuration, for a reverse name
/// its address too), so a new snapshot drops only the answers whose routing it changed. An expired
/// answer leaves the table.
final class CachedAnswerTable {
    private let table: AnswerTable<CachedAnswerKey, CachedAnswer>

    /// Bounds memory; the cache itself holds at most `cache.maxEntries`.
    init(capacity: Int = 10_000) { table = AnswerTable(capacity: capacity) }

    var count: Int { table.count }

    /// The answer for `key` and its age in seconds, while it is fresh and still routed to the cache
    /// under `snapshot` (nil before the first sync) and `config`.
    func lookup(_ key: CachedAnswerKey, snapshot: ClusterSnapshot?, config: UInt64) -> (answer: CachedAnswer, age: UInt32)? {
        guard let cached = table.lookup(key, snapshot: snapshot, config: config) else { return nil }
        guard let age = cached.age(at: cached.time.nowNanoseconds()) else {
            table.remove(key)
            return nil
        }
        return (cached, age)
    }

    func store(_ answer: CachedAnswer, for key: CachedAnswerKey, epoch: AnswerEpoch, dependencies: AnswerDependencies) {
        table.store(answer, for: key, epoch: epoch, dependencies: dependencies)
    }
}
