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

/// The cache's fresh answers that one listener (one event loop, so no lock) serves itself: a
/// repeat forwarded name is answered where the packet was read, from the stored bytes with the
/// TTLs counted down, without the chain, a task or a decode. Filled by the slow path, which
/// learns that the chain passes this question straight to the cache; that holds for one snapshot
/// and configuration, so a new one empties the table, and an expired answer leaves it.
final class CachedAnswerTable {
    private var epoch = AnswerEpoch(snapshot: 0, config: 0)
    private var answers: [CachedAnswerKey: CachedAnswer] = [:]
    /// Bounds memory; the cache itself holds at most `cache.maxEntries`.
    let capacity: Int

    init(capacity: Int = 10_000) { self.capacity = capacity }

    var count: Int { answers.count }

    /// The answer for `key` and its age in seconds, while it is fresh and belongs to `current`.
    func lookup(_ key: CachedAnswerKey, current: AnswerEpoch) -> (answer: CachedAnswer, age: UInt32)? {
        if current != epoch {
            answers.removeAll(keepingCapacity: true)
            epoch = current
            return nil
        }
        guard let cached = answers[key] else { return nil }
        guard let age = cached.age(at: cached.time.nowNanoseconds()) else {
            answers[key] = nil
            return nil
        }
        return (cached, age)
    }

    func store(_ answer: CachedAnswer, for key: CachedAnswerKey, epoch answerEpoch: AnswerEpoch) {
        guard answerEpoch == epoch else { return }
        if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
        answers[key] = answer
    }
}
