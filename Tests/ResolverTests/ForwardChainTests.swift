import Clocks
import DNSWire
import NameExpansion
import NIOPosix
@testable import Resolver
import Testing

/// The upstream path as the server wires it: local zones → cache → forward, over real sockets.
@Suite("Forward: upstream path")
struct ForwardChainTests {
    typealias F = ForwardFixtures

    /// The per-try timeout is long enough that a loaded machine's scheduling delay cannot turn the first
    /// answer into a timeout; the two failing lookups at the end each wait out the 2 s budget.
    @Test func localZonesCacheAndForwardTogether() async throws {
        let group = ForwardTests.ownGroup
        let upstream = try await ScriptedUpstream(group: group, script: ScriptedUpstream.answering(["www.example.org. 60 IN A 192.0.2.7"]))
        let cacheTime = ManualClock()
        let forwardTime = ManualClock()  // tries end by a reply, or by the test moving this clock
        let origin = try DomainName("example.com.")
        let zone = try ZoneFile.parse("""
            @ 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 60
            www 300 IN A 192.0.2.1
            """, origin: origin)
        let path = try Chain(handlers: [
            try LocalZonesHandler(config: LocalZonesConfig(zones: [origin: zone])),
            try CacheHandler(config: CacheConfig(staleMaxAge: 600), time: cacheTime),
            try ForwardHandler(config: ForwardConfig(upstreams: [upstream.upstream], tryTimeoutNanoseconds: 1_000_000_000,
                                                     budgetNanoseconds: 2_000_000_000), group: group, time: forwardTime),
        ]).suffix(from: "local-zones")

        let local = await path.resolve(F.request("www.example.com."))
        F.expectSections(local.message, answer: ["www.example.com. 300 IN A 192.0.2.1"])
        #expect(upstream.queryCount == 0, "local zone names never leave the process")

        _ = await path.resolve(F.request("www.example.org."))
        cacheTime.advance(seconds: 10)
        let cached = await path.resolve(F.request("www.example.org."))
        F.expectSections(cached.message, answer: ["www.example.org. 50 IN A 192.0.2.7"])
        #expect(upstream.queryCount == 1)

        upstream.setScript(ScriptedUpstream.drop)
        cacheTime.advance(seconds: 60)
        let (stale, _) = try await F.drive(forwardTime) { await path.resolve(F.request("www.example.org.")) }
        #expect(stale.rcode == .noError)
        F.expectSections(stale.message, answer: ["www.example.org. 30 IN A 192.0.2.7"])
        #expect(stale.message.edns?.extendedError == .staleAnswer, "every upstream failed: the stale answer, EDE 3")

        let (unknown, _) = try await F.drive(forwardTime) { await path.resolve(F.request("nothing.example.org.")) }
        #expect(unknown.rcode == .servFail)
        #expect(unknown.message.edns?.extendedError == .noReachableAuthority)
        await upstream.stop()
    }
}
