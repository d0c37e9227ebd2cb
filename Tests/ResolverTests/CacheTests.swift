import Clocks
import DNSWire
import NameExpansion
@testable import Resolver
import Testing
import YAMLReader

@Suite("Cache")
struct CacheTests {
    typealias F = ForwardFixtures
    static let www = "www.example.com. 300 IN A 192.0.2.1"
    static func soa(ttl: UInt32, minimum: UInt32) -> String {
        "example.com. \(ttl) IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 \(minimum)"
    }

    let time = ManualClock()

    func cache(_ config: CacheConfig = CacheConfig()) throws -> CacheHandler { try CacheHandler(config: config, time: time) }

    @Test func ttlCountsDownOnHits() async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, answer: [Self.www]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        time.advance(seconds: 100.5)
        let request = F.request("WWW.Example.com.", id: 0xbeef)
        let hit = await cache.handle(request, next: upstream.next)
        #expect(upstream.calls == 1)
        F.expectSections(hit.message, answer: ["www.example.com. 200 IN A 192.0.2.1"])
        #expect(hit.message.header.id == 0xbeef)
        #expect(hit.message.question?.name.labels == ["WWW", "Example", "com"], "the hit echoes this client's question")
        #expect(hit.message.header.recursionAvailable)
        #expect(hit.message.edns?.udpPayloadSize == 1232)
    }

    @Test func hitWithoutEDNSHasNoOPT() async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, answer: [Self.www]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        let hit = await cache.handle(F.request("www.example.com.", edns: false), next: upstream.next)
        #expect(upstream.calls == 1)
        #expect(hit.message.edns == nil)
    }

    @Test func entryExpiresAtItsTTL() async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, answer: [Self.www]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        time.advance(seconds: 299.9)
        let last = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 1)
        #expect(last.message.answer.first?.ttl == 1)
        time.advance(seconds: 0.1)
        let fresh = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 2)
        #expect(fresh.message.answer.first?.ttl == 300)
    }

    struct KeyCase: Sendable, CustomTestStringConvertible {
        let name: String
        let second: Request
        let hits: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        KeyCase(name: "same question, other case: hit", second: F.request("WWW.EXAMPLE.COM."), hits: true),
        KeyCase(name: "other ID, no EDNS: hit", second: F.request("www.example.com.", id: 7, edns: false), hits: true),
        KeyCase(name: "DO differs: miss", second: F.request("www.example.com.", dnssecOK: true), hits: false),
        KeyCase(name: "CD differs: miss", second: F.request("www.example.com.", checkingDisabled: true), hits: false),
        KeyCase(name: "type differs: miss", second: F.request("www.example.com.", .aaaa), hits: false),
        KeyCase(name: "class differs: miss", second: F.request("www.example.com.", class: .chaos), hits: false),
        KeyCase(name: "name differs: miss", second: F.request("ww.example.com."), hits: false),
    ])
    func keyIsNameTypeClassDOCD(_ c: KeyCase) async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, answer: ["\($0.question.name) 300 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        _ = await cache.handle(c.second, next: upstream.next)
        #expect(upstream.calls == (c.hits ? 1 : 2))
    }

    struct NegativeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let rcode: RCode
        let soaTTL: UInt32
        let minimum: UInt32
        let cachedFor: UInt32
        var testDescription: String { name }
    }

    @Test(arguments: [
        NegativeCase(name: "NXDOMAIN: SOA MINIMUM below its TTL", rcode: .nxDomain, soaTTL: 300, minimum: 60, cachedFor: 60),
        NegativeCase(name: "NXDOMAIN: SOA TTL below MINIMUM", rcode: .nxDomain, soaTTL: 30, minimum: 600, cachedFor: 30),
        NegativeCase(name: "NODATA: RFC 2308 min", rcode: .noError, soaTTL: 120, minimum: 90, cachedFor: 90),
        NegativeCase(name: "capped by maxNegativeTTL", rcode: .nxDomain, soaTTL: 7200, minimum: 7200, cachedFor: 1800),
    ])
    func negativeAnswersAreCachedPerRFC2308(_ c: NegativeCase) async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, rcode: c.rcode, authority: [Self.soa(ttl: c.soaTTL, minimum: c.minimum)]) }
        _ = await cache.handle(F.request("nope.example.com."), next: upstream.next)
        time.advance(seconds: Double(c.cachedFor) - 1)
        let hit = await cache.handle(F.request("nope.example.com."), next: upstream.next)
        #expect(upstream.calls == 1)
        #expect(hit.rcode == c.rcode)
        #expect(hit.message.authority.first?.ttl == 1, "the SOA's TTL counts down from the negative TTL")
        time.advance(seconds: 1)
        _ = await cache.handle(F.request("nope.example.com."), next: upstream.next)
        #expect(upstream.calls == 2)
    }

    struct UncachedCase: Sendable, CustomTestStringConvertible {
        let name: String
        let reply: @Sendable (Request) -> Message
        var testDescription: String { name }
    }

    @Test(arguments: [
        UncachedCase(name: "NXDOMAIN without SOA") { F.reply(to: $0, rcode: .nxDomain) },
        UncachedCase(name: "NODATA without SOA") { F.reply(to: $0, authority: ["example.com. 300 IN NS ns.example.com."]) },
        UncachedCase(name: "TC=1") { F.reply(to: $0, answer: [CacheTests.www], truncated: true) },
        UncachedCase(name: "SERVFAIL") { F.reply(to: $0, rcode: .servFail) },
        UncachedCase(name: "REFUSED") { F.reply(to: $0, rcode: .refused) },
        UncachedCase(name: "FORMERR") { F.reply(to: $0, rcode: .formErr) },
        UncachedCase(name: "TTL 0") { F.reply(to: $0, answer: ["www.example.com. 0 IN A 192.0.2.1"]) },
    ])
    func answersThatMustNotBeCached(_ c: UncachedCase) async throws {
        let cache = try cache()
        let upstream = FakeNext(c.reply)
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 2)
        #expect(cache.count == 0)
    }

    @Test func positiveTTLIsCappedByMaxTTL() async throws {
        let cache = try cache(CacheConfig(maxTTL: 3600))
        let upstream = FakeNext { F.reply(to: $0, answer: ["www.example.com. 86400 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        time.advance(seconds: 10)
        let hit = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(hit.message.answer.first?.ttl == 3590)
        time.advance(seconds: 3590)
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 2)
    }

    @Test func positiveTTLIsTheSmallestAnswerTTL() async throws {
        let cache = try cache()
        let upstream = FakeNext {
            F.reply(to: $0, answer: ["www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 20 IN A 192.0.2.1"])
        }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        time.advance(seconds: 20)
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 2)
    }

    @Test func minTTLKeepsShortAnswersLonger() async throws {
        let cache = try cache(CacheConfig(minTTL: 60))
        let upstream = FakeNext { F.reply(to: $0, answer: ["www.example.com. 5 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        time.advance(seconds: 30)
        let hit = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(upstream.calls == 1)
        #expect(hit.message.answer.first?.ttl == 0, "a record's TTL never goes below 0")
    }

    @Test func boundedSizeEvictsTheSoonestToExpire() async throws {
        let cache = try cache(CacheConfig(maxEntries: 3))
        let ttls: [String: UInt32] = ["a.example.": 100, "b.example.": 10, "c.example.": 50, "d.example.": 70]
        let upstream = FakeNext { F.reply(to: $0, answer: ["\($0.question.name) \(ttls[$0.question.name.description]!) IN A 192.0.2.1"]) }
        for name in ["a.example.", "b.example.", "c.example.", "d.example."] {
            _ = await cache.handle(F.request(name), next: upstream.next)
        }
        #expect(cache.count == 3)
        for name in ["a.example.", "c.example.", "d.example."] {
            _ = await cache.handle(F.request(name), next: upstream.next)
        }
        #expect(upstream.calls == 4, "a, c and d are still cached")
        _ = await cache.handle(F.request("b.example."), next: upstream.next)
        #expect(upstream.calls == 5, "b, the soonest to expire, was evicted")
        #expect(cache.count == 3)
    }

    @Test func storeEvictionSampleKeepsCountAtCapacity() {
        var store = CacheStore(capacity: 100, sampleSize: 8)
        for i in 0..<1000 {
            let key = CacheKey(name: DomainName(labels: ["n\(i)"]), type: .a, class: .in, dnssecOK: false, checkingDisabled: false)
            store.insert(key, CacheEntry(wire: [], storedAt: 0, ttl: UInt32(i % 97), staleMaxAge: 0), now: 0)
            #expect(store.count == min(i + 1, 100))
        }
    }

    /// `fedns_cache_entries{type="denial"}` (and CoreDNS's) follows inserts, replacements, evictions and expiry.
    @Test func storeCountsDenialsThroughReplaceEvictAndExpiry() {
        var store = CacheStore(capacity: 3, sampleSize: 8)
        func key(_ n: String) -> CacheKey {
            CacheKey(name: DomainName(labels: [n]), type: .a, class: .in, dnssecOK: false, checkingDisabled: false)
        }
        func entry(denial: Bool, ttl: UInt32) -> CacheEntry { CacheEntry(wire: [], denial: denial, storedAt: 0, ttl: ttl, staleMaxAge: 0) }
        store.insert(key("a"), entry(denial: true, ttl: 10), now: 0)
        store.insert(key("b"), entry(denial: true, ttl: 20), now: 0)
        store.insert(key("c"), entry(denial: false, ttl: 30), now: 0)
        #expect(store.denials == 2)
        store.insert(key("b"), entry(denial: false, ttl: 20), now: 0)   // replaced by an answer
        #expect(store.denials == 1)
        store.insert(key("d"), entry(denial: false, ttl: 40), now: 0)   // full: evicts a, the first to expire
        #expect(store.denials == 0 && store.count == 3)
        store.insert(key("e"), entry(denial: true, ttl: 1), now: 0)
        #expect(store.denials == 1)
        if case .miss = store.lookup(key("e"), now: 5_000_000_000) {} else { Issue.record("an expired entry must be dropped") }
        #expect(store.denials == 0)
    }

    @Test func servesStaleWithEDE3WhenUpstreamFails() async throws {
        let cache = try cache(CacheConfig(staleMaxAge: 3600))
        let upstream = FakeNext { F.reply(to: $0, answer: ["www.example.com. 10 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        upstream.answer { Response.error(.servFail, to: $0, ede: .noReachableAuthority).message }
        time.advance(seconds: 20)
        let stale = await cache.handle(F.request("www.example.com.", id: 99), next: upstream.next)
        #expect(upstream.calls == 2, "the upstream is asked first")
        #expect(stale.rcode == .noError)
        F.expectSections(stale.message, answer: ["www.example.com. 30 IN A 192.0.2.1"])
        #expect(stale.message.edns?.extendedError == .staleAnswer)
        #expect(stale.message.header.id == 99)

        let noEDNS = await cache.handle(F.request("www.example.com.", edns: false), next: upstream.next)
        #expect(noEDNS.rcode == .noError)
        #expect(noEDNS.message.edns == nil, "no OPT is invented for a client without EDNS")

        time.advance(seconds: 3600)
        let tooOld = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(tooOld.rcode == .servFail, "past staleMaxAge the failure goes through")
    }

    @Test func staleEntryIsReplacedWhenUpstreamAnswers() async throws {
        let cache = try cache()
        let upstream = FakeNext { F.reply(to: $0, answer: ["www.example.com. 10 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        upstream.answer { F.reply(to: $0, answer: ["www.example.com. 10 IN A 192.0.2.2"]) }
        time.advance(seconds: 20)
        let fresh = await cache.handle(F.request("www.example.com."), next: upstream.next)
        F.expectSections(fresh.message, answer: ["www.example.com. 10 IN A 192.0.2.2"])
        #expect(fresh.message.edns?.extendedError == nil)
    }

    @Test func serveStaleOffPassesTheFailure() async throws {
        let cache = try cache(CacheConfig(serveStale: false))
        let upstream = FakeNext { F.reply(to: $0, answer: ["www.example.com. 10 IN A 192.0.2.1"]) }
        _ = await cache.handle(F.request("www.example.com."), next: upstream.next)
        upstream.answer { Response.error(.servFail, to: $0, ede: .noReachableAuthority).message }
        time.advance(seconds: 20)
        let failed = await cache.handle(F.request("www.example.com."), next: upstream.next)
        #expect(failed.rcode == .servFail)
        #expect(failed.message.edns?.extendedError == .noReachableAuthority)
    }

    @Test(arguments: [
        (CacheConfig(maxEntries: 0), "cache.maxEntries"),
        (CacheConfig(maxTTL: 10, minTTL: 20), "cache.minTTL"),
        (CacheConfig(staleAnswerTTL: 0), "cache.staleAnswerTTL"),
    ])
    func invalidConfigNamesTheField(_ config: CacheConfig, _ field: String) {
        #expect(config.validate().map(\.field) == [field])
        #expect { try CacheHandler(config: config) } throws: { ($0 as? ConfigError)?.field == field }
    }
}
