import Clocks
import DNSWire
import YAMLReader
import Metrics
import Synchronization

/// Caches the answers of the handlers after it (forward), keyed on the lower-cased question and
/// the DO and CD bits (docs/behaviour.md, the cache).
///
/// A hit is decoded from the stored wire form with every TTL counted down by the time elapsed; an
/// expired answer within `staleMaxAge` is served stale (TTL `staleAnswerTTL`, EDE 3) when the
/// upstream path returns SERVFAIL (RFC 8767). A fresh answer also goes back as a ``CachedAnswer``,
/// so that the listener that read the query can serve the next ones itself from the stored bytes.
public final class CacheHandler: Handler {
    public let name = "cache"
    public let config: CacheConfig
    private let time: any TimeSource
    private let store: Mutex<CacheStore>
    private let metrics = CacheMetrics()

    /// - Throws: when the configuration is invalid.
    public init(config: CacheConfig = CacheConfig(), time: any TimeSource = SystemTimeSource()) throws(ConfigError) {
        try config.validate().throwFirstError()
        self.config = config
        self.time = time
        self.store = Mutex(CacheStore(capacity: config.maxEntries))
    }

    /// The number of cached answers.
    public var count: Int { store.withLock { $0.count } }

    public func handle(_ request: Request, next: Next) async -> Response {
        let key = CacheKey(name: request.name, type: request.type, class: request.question.class,
                           dnssecOK: request.dnssecOK, checkingDisabled: request.checkingDisabled)
        let now = time.nowNanoseconds()
        let found = store.withLock { $0.lookup(key, now: now) }
        if case .fresh(let entry) = found, let message = Self.render(entry, for: request, now: now) {
            metrics.hits(entry).increment()
            // The cache's answer reads no cluster state; handlers before it add what their routing read.
            return Response(message: message, dependencies: .unkeyed, cachedAnswer: cachedAnswer(entry))
        }
        metrics.misses.increment()
        let response = await next(request)
        if case .stale(let entry) = found, config.serveStale, response.rcode == .servFail,
           let message = Self.render(entry, for: request, now: now, staleTTL: config.staleAnswerTTL) {
            metrics.stale.increment()
            return Response(message: message)
        }
        var stored = response
        stored.cachedAnswer = insert(response, key: key).flatMap(cachedAnswer)
        if stored.cachedAnswer != nil { stored.dependencies = .unkeyed }
        return stored
    }

    /// The entry as the server's listeners may serve it themselves until it expires.
    private func cachedAnswer(_ entry: CacheEntry) -> CachedAnswer? {
        entry.prerendered.map { CachedAnswer(answer: $0, storedAt: entry.storedAt, expiresAt: entry.expiresAt, time: time, hits: metrics.hits(entry)) }
    }

    /// Stores `response` when the caching rules allow, from its wire form when it is still in it.
    @discardableResult
    private func insert(_ response: Response, key: CacheKey) -> CacheEntry? {
        guard let forwarded = response.forwarded else { return insert(response.message, key: key) }
        guard let (ttl, _) = CachePolicy.ttl(for: forwarded.answer, config: config), ttl > 0 else { return nil }
        let stored = forwarded.answer.cappingTTLs(at: ttl)
        let rcode = stored.rcode
        return insert(CacheEntry(answer: stored, denial: rcode == .nxDomain || (rcode == .noError && !stored.hasAnswerRecords),
                                 storedAt: time.nowNanoseconds(), ttl: ttl, staleMaxAge: config.serveStale ? config.staleMaxAge : 0),
                      key: key)
    }

    @discardableResult
    private func insert(_ message: Message, key: CacheKey) -> CacheEntry? {
        guard let (ttl, _) = CachePolicy.ttl(for: message, config: config), ttl > 0 else { return nil }
        var stored = message
        stored.header.id = 0
        stored.edns = nil
        // No record may outlive the entry (maxTTL caps, SOA bounds).
        for i in stored.answer.indices { stored.answer[i].ttl = min(stored.answer[i].ttl, ttl) }
        for i in stored.authority.indices { stored.authority[i].ttl = min(stored.authority[i].ttl, ttl) }
        for i in stored.additional.indices { stored.additional[i].ttl = min(stored.additional[i].ttl, ttl) }
        let now = time.nowNanoseconds()
        let denial = stored.header.rcode == .nxDomain || (stored.header.rcode == .noError && stored.answer.isEmpty)
        return insert(CacheEntry(wire: WireCodec.encode(stored), rcode: stored.header.rcode, denial: denial, storedAt: now, ttl: ttl,
                                 staleMaxAge: config.serveStale ? config.staleMaxAge : 0), key: key)
    }

    private func insert(_ entry: CacheEntry, key: CacheKey) -> CacheEntry {
        let now = entry.storedAt
        let (evicted, count, denials) = store.withLock { s in (s.insert(key, entry, now: now), s.count, s.denials) }
        if evicted > 0 { metrics.evictions.increment(by: evicted) }
        metrics.successEntries.record(count - denials)
        metrics.denialEntries.record(denials)
        return entry
    }

    /// The cached answer for `request`: its ID, question (byte for byte), RD and OPT; TTLs counted
    /// down by the whole seconds elapsed (never below 0), or all set to `staleTTL` with EDE 3.
    static func render(_ entry: CacheEntry, for request: Request, now: UInt64, staleTTL: UInt32? = nil) -> Message? {
        guard var m = try? WireCodec.decode(entry.wire) else { return nil }
        let elapsed = UInt32(clamping: (now - min(now, entry.storedAt)) / 1_000_000_000)
        func age(_ rrs: inout [ResourceRecord]) {
            for i in rrs.indices { rrs[i].ttl = staleTTL ?? (rrs[i].ttl - min(rrs[i].ttl, elapsed)) }
        }
        age(&m.answer); age(&m.authority); age(&m.additional)
        m.header.id = request.message.header.id
        m.header.recursionDesired = request.message.header.recursionDesired
        m.header.recursionAvailable = true
        m.questions = request.message.questions
        if let e = request.message.edns { m.edns = EDNS(udpPayloadSize: 1232, dnssecOK: e.dnssecOK) }
        if staleTTL != nil { m.addExtendedError(.staleAnswer, text: "serve-stale") }
        return m
    }
}

/// A fresh cached answer as stored bytes, for a listener to send without the chain or a decode:
/// the client's ID, question and flags patched in, every TTL counted down by the whole seconds since
/// it was stored. Valid until `expiresAt` on `time` (the cache's clock); a stale answer is never one.
public struct CachedAnswer: Sendable {
    public let answer: PrerenderedAnswer
    public let storedAt: UInt64
    public let expiresAt: UInt64
    public let time: any TimeSource
    let hits: Counter

    /// Seconds to count every TTL down by at `now`, or nil when the answer has expired.
    public func age(at now: UInt64) -> UInt32? {
        guard now < expiresAt else { return nil }
        return UInt32(clamping: (now - min(now, storedAt)) / 1_000_000_000)
    }

    /// Counts a hit served by a listener as the cache's own.
    public func countHit() { hits.increment() }
}
