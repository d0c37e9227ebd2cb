import DNSWire
import NameExpansion

/// What a cached answer is filed under: the lower-cased question and the DO and CD bits, since an
/// answer with or without DNSSEC records, validated or not, is a different answer.
struct CacheKey: Hashable, Sendable {
    let name: DomainName
    let type: RRType
    let `class`: RRClass
    let dnssecOK: Bool
    let checkingDisabled: Bool
    /// Hashed once: a miss looks the key up and stores it, and every probe would hash the name again.
    private let hash: Int

    init(name: DomainName, type: RRType, class qclass: RRClass, dnssecOK: Bool, checkingDisabled: Bool) {
        self.name = name; self.type = type; self.class = qclass; self.dnssecOK = dnssecOK; self.checkingDisabled = checkingDisabled
        var hasher = Hasher()
        hasher.combine(name); hasher.combine(type); hasher.combine(qclass); hasher.combine(dnssecOK); hasher.combine(checkingDisabled)
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }

    static func == (a: CacheKey, b: CacheKey) -> Bool {
        a.hash == b.hash && a.type == b.type && a.class == b.class && a.dnssecOK == b.dnssecOK
            && a.checkingDisabled == b.checkingDisabled && a.name == b.name
    }
}

/// One cached answer: the wire form of the message (ID 0, no OPT) and when it was stored.
struct CacheEntry: Sendable {
    let wire: [UInt8]
    /// The same bytes laid out to be sent without a decode (offsets of records and TTLs); nil when
    /// the walk could not read them, and then hits take the decode path.
    let prerendered: PrerenderedAnswer?
    let storedAt: UInt64
    /// Lifetime in seconds; every record's TTL in `wire` is at most this.
    let ttl: UInt32
    let expiresAt: UInt64
    /// Until when an expired answer may be served stale.
    let staleUntil: UInt64
    /// NXDOMAIN or NODATA: its hits count under `type="denial"`, as CoreDNS's cache counts them.
    let denial: Bool

    init(wire: [UInt8], rcode: RCode = .noError, denial: Bool = false, storedAt: UInt64, ttl: UInt32, staleMaxAge: UInt32) {
        self.init(wire: wire, prerendered: PrerenderedAnswer(wire: wire, rcode: rcode), denial: denial, storedAt: storedAt, ttl: ttl,
                  staleMaxAge: staleMaxAge)
    }

    /// An answer already laid out (a forwarded one kept in wire form, without OPT).
    init(answer: PrerenderedAnswer, denial: Bool, storedAt: UInt64, ttl: UInt32, staleMaxAge: UInt32) {
        self.init(wire: answer.bytes, prerendered: answer, denial: denial, storedAt: storedAt, ttl: ttl, staleMaxAge: staleMaxAge)
    }

    private init(wire: [UInt8], prerendered: PrerenderedAnswer?, denial: Bool, storedAt: UInt64, ttl: UInt32, staleMaxAge: UInt32) {
        self.wire = wire; self.prerendered = prerendered; self.storedAt = storedAt; self.ttl = ttl; self.denial = denial
        expiresAt = storedAt + UInt64(ttl) * 1_000_000_000
        staleUntil = expiresAt + UInt64(staleMaxAge) * 1_000_000_000
    }
}

/// A bounded map of cached answers.
///
/// Eviction samples up to `sampleSize` entries at random and evicts the one that expires first
/// (preferring any whose stale window has passed), as Redis does: O(1) per insert, no list to
/// maintain, and close to "evict what is least worth keeping" for TTL-bounded data. When the
/// cache holds no more entries than the sample, every entry is examined.
struct CacheStore: Sendable {
    enum Lookup { case fresh(CacheEntry), stale(CacheEntry), miss }

    let capacity: Int
    let sampleSize: Int
    private var entries: [CacheKey: (entry: CacheEntry, slot: Int)] = [:]
    /// Keys in a dense array so that a random one is O(1) to pick.
    private var keys: [CacheKey] = []

    /// The storage grows with use: reserving `capacity` up front cost 2.2 MB of every server's
    /// memory at the default 10,000 entries, whether it forwards much or not.
    init(capacity: Int, sampleSize: Int = 8) {
        self.capacity = capacity; self.sampleSize = sampleSize
    }

    var count: Int { keys.count }
    /// How many of the entries are denials (NXDOMAIN, NODATA).
    private(set) var denials = 0

    /// Looks `key` up at `now`; entries past their stale window are dropped on the way.
    mutating func lookup(_ key: CacheKey, now: UInt64) -> Lookup {
        guard let entry = entries[key]?.entry else { return .miss }
        if now < entry.expiresAt { return .fresh(entry) }
        if now < entry.staleUntil { return .stale(entry) }
        remove(key)
        return .miss
    }

    /// Stores `entry`, evicting when full; returns the number of evictions (0 or 1).
    @discardableResult
    mutating func insert(_ key: CacheKey, _ entry: CacheEntry, now: UInt64) -> Int {
        var evicted = 0
        // Full: a new key evicts first. Otherwise one probe both stores and tells a new key from a replaced one.
        if keys.count >= capacity, entries[key] == nil, let victim = pickVictim(now: now) {
            remove(victim)
            evicted = 1
        }
        if let (old, slot) = entries.updateValue((entry, keys.count), forKey: key) {
            denials += (entry.denial ? 1 : 0) - (old.denial ? 1 : 0)
            entries[key]!.slot = slot
            return evicted
        }
        keys.append(key)
        if entry.denial { denials += 1 }
        return evicted
    }

    mutating func remove(_ key: CacheKey) {
        guard let (entry, slot) = entries.removeValue(forKey: key) else { return }
        if entry.denial { denials -= 1 }
        let last = keys.removeLast()
        if slot < keys.count {
            keys[slot] = last
            entries[last]!.slot = slot
        }
    }

    private func pickVictim(now: UInt64) -> CacheKey? {
        guard !keys.isEmpty else { return nil }
        var rng = SystemRandomNumberGenerator()
        let candidates = keys.count <= sampleSize ? keys : (0..<sampleSize).map { _ in keys.randomElement(using: &rng)! }
        // Worth least: past its stale window, then the soonest to expire.
        return candidates.min { a, b in
            let ea = entries[a]!.entry, eb = entries[b]!.entry
            let deadA = now >= ea.staleUntil, deadB = now >= eb.staleUntil
            if deadA != deadB { return deadA }
            return ea.expiresAt < eb.expiresAt
        }
    }
}
