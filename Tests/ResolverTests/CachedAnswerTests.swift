import Clocks
import DNSWire
import NameExpansion
@testable import Resolver
import Testing

/// A listener serves a repeat forwarded name from the cache's stored bytes, patching ID, question,
/// flags and TTLs itself. Byte for byte, that must be what the cache's own path (decode with ldns,
/// count TTLs down, encode with ldns) sends.
@Suite("CachedAnswer")
struct CachedAnswerTests {
    typealias F = ForwardFixtures

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let type: RRType
        let rcode: RCode
        let answer: [String]
        let authority: [String]
        var testDescription: String { "\(name) \(type) \(rcode)" }
    }

    static let soa = "example.com. 900 IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 600"
    static let cases: [Case] = [
        Case(name: "www.example.com.", type: .a, rcode: .noError, answer: ["www.example.com. 300 IN A 192.0.2.1"], authority: []),
        Case(name: "alias.example.com.", type: .aaaa, rcode: .noError,
             answer: ["alias.example.com. 120 IN CNAME www.example.com.", "www.example.com. 300 IN AAAA 2001:db8::1",
                      "www.example.com. 300 IN AAAA 2001:db8::2"], authority: []),
        Case(name: "nope.example.com.", type: .a, rcode: .nxDomain, answer: [], authority: [soa]),
        Case(name: "www.example.com.", type: .mx, rcode: .noError, answer: [], authority: [soa]),
        Case(name: "big.example.com.", type: .a, rcode: .noError,
             answer: (1...60).map { "big.example.com. 3600 IN A 198.51.100.\($0)" }, authority: []),
        Case(name: "txt.example.com.", type: .txt, rcode: .noError,
             answer: (1...30).map { "txt.example.com. 60 IN TXT \"record \($0) of thirty, long enough to overflow a small UDP payload\"" },
             authority: [soa]),
    ]

    @Test("the listener's answer from the stored bytes equals the cache's decoded one", arguments: cases)
    func listenerAnswerEqualsCacheRendering(_ c: Case) async throws {
        let time = ManualClock()
        let cache = try CacheHandler(config: CacheConfig(), time: time)
        let upstream = FakeNext { F.reply(to: $0, rcode: c.rcode, answer: c.answer, authority: c.authority) }
        // What each miss handed back for the listeners, by the DO bit of the query (part of the cache key).
        var stored: [Bool: CachedAnswer] = [:]
        var compared = 0
        for seconds in [0.0, 1.5, 59.0, 200.0] {
            time.advance(seconds: seconds)
            for edns in [nil, EDNS(udpPayloadSize: 4096), EDNS(udpPayloadSize: 512, dnssecOK: true), EDNS(udpPayloadSize: 1232)] as [EDNS?] {
                for rd in [true, false] {
                    let query = Message.query(id: 0xC0DE, name: try DomainName(mixedCase(c.name)), type: c.type, recursionDesired: rd, edns: edns)
                    let packet = WireCodec.encode(query)
                    guard case .pass(let view) = Gate.inspect(packet) else { Issue.record("the gate refused the query"); return }
                    let request = Request(message: packet.withUnsafeBytes { Message(gatedQuery: $0, view: view) }, transport: .udp)
                    let calls = upstream.calls
                    let viaCache = await cache.handle(request, next: upstream.next)
                    let dnssecOK = edns?.dnssecOK ?? false
                    if upstream.calls > calls {
                        // A miss: its answer is the upstream's; what it stored is what later hits serve.
                        stored[dnssecOK] = try #require(viaCache.cachedAnswer, "a cacheable answer comes back as a CachedAnswer")
                        continue
                    }
                    let cached = try #require(stored[dnssecOK])
                    let age = try #require(cached.age(at: time.nowNanoseconds()), "the cache served it, so it is fresh")
                    for limit in [65535, view.udpLimit] {
                        let expected = WireCodec.encode(viaCache.message, maxSize: limit)
                        var out = [UInt8](repeating: 0, count: 65535)
                        let length = packet.withUnsafeBytes { q in
                            out.withUnsafeMutableBytes { cached.answer.write(query: q, view: view, into: $0, limit: limit, age: age) }
                        }
                        #expect(length.map { Array(out[0..<$0]) } == expected,
                                "after \(seconds) s, edns \(String(describing: edns)), rd \(rd), limit \(limit)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared >= 40, "hits compared: \(compared)")
    }

    @Test func staleAndUncacheableAnswersAreNotHandedToListeners() async throws {
        let time = ManualClock()
        let cache = try CacheHandler(config: CacheConfig(), time: time)
        let servfail = FakeNext { F.reply(to: $0, rcode: .servFail) }
        #expect(await cache.handle(F.request("down.example.com."), next: servfail.next).cachedAnswer == nil)
        let truncated = FakeNext { F.reply(to: $0, answer: ["tc.example.com. 300 IN A 192.0.2.9"], truncated: true) }
        #expect(await cache.handle(F.request("tc.example.com."), next: truncated.next).cachedAnswer == nil)

        let good = FakeNext { F.reply(to: $0, answer: ["www.example.com. 10 IN A 192.0.2.1"]) }
        let fresh = try #require(await cache.handle(F.request("www.example.com."), next: good.next).cachedAnswer)
        #expect(fresh.age(at: time.nowNanoseconds()) == 0)
        time.advance(seconds: 9.9)
        #expect(fresh.age(at: time.nowNanoseconds()) == 9)
        time.advance(seconds: 0.1)
        #expect(fresh.age(at: time.nowNanoseconds()) == nil, "expired at its TTL: the listener hands the query to the cache")
        let stale = await cache.handle(F.request("www.example.com."), next: servfail.next)
        #expect(stale.message.answer.first?.ttl == 30, "served stale by the cache itself")
        #expect(stale.cachedAnswer == nil, "a stale answer is never served by a listener")
    }

    func mixedCase(_ text: String) -> String {
        String(text.enumerated().map { $0.offset % 3 == 0 ? Character($0.element.uppercased()) : $0.element })
    }
}
