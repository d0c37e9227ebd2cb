import DNSWire
import NameExpansion
@testable import Resolver
import Testing
import YAMLReader

@Suite("Local zones")
struct LocalZonesTests {
    static let zone = """
    $ORIGIN example.com.
    $TTL 300
    @       IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 60
    @       NS    ns.example.com.
    ns      A     192.0.2.53
    www     A     192.0.2.1
    www     A     192.0.2.2
    alias   CNAME www
    chain   CNAME alias
    ext     CNAME target.example.org.
    loop1   CNAME loop2
    loop2   CNAME loop1
    *.wild  TXT   "wildcard"
    a.b.deep A    192.0.2.9
    """
    static let negativeSOA = "example.com. 60 IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 60"

    static func handler() throws -> LocalZonesHandler {
        let origin = try DomainName("example.com.")
        return try LocalZonesHandler(config: LocalZonesConfig(zones: [origin: try ZoneFile.parse(zone, origin: origin)]))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let qname: String
        let qtype: RRType
        var rcode: RCode = .noError
        var answer: [String] = []
        var authority: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "exact RRset", qname: "www.example.com.", qtype: .a,
             answer: ["www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"]),
        Case(name: "names compare case-insensitively", qname: "WWW.Example.COM.", qtype: .a,
             answer: ["www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"]),
        Case(name: "CNAME followed in zone", qname: "alias.example.com.", qtype: .a,
             answer: ["alias.example.com. 300 IN CNAME www.example.com.",
                      "www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"]),
        Case(name: "CNAME chain of two links", qname: "chain.example.com.", qtype: .a,
             answer: ["chain.example.com. 300 IN CNAME alias.example.com.", "alias.example.com. 300 IN CNAME www.example.com.",
                      "www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"]),
        Case(name: "CNAME chain ending in NODATA carries the SOA", qname: "alias.example.com.", qtype: .aaaa,
             answer: ["alias.example.com. 300 IN CNAME www.example.com."], authority: [negativeSOA]),
        Case(name: "CNAME query returns the CNAME only", qname: "alias.example.com.", qtype: .cname,
             answer: ["alias.example.com. 300 IN CNAME www.example.com."]),
        Case(name: "CNAME out of zone is not chased", qname: "ext.example.com.", qtype: .a,
             answer: ["ext.example.com. 300 IN CNAME target.example.org."]),
        Case(name: "CNAME loop stops", qname: "loop1.example.com.", qtype: .a,
             answer: ["loop1.example.com. 300 IN CNAME loop2.example.com.", "loop2.example.com. 300 IN CNAME loop1.example.com."]),
        Case(name: "NODATA with SOA", qname: "www.example.com.", qtype: .aaaa, authority: [negativeSOA]),
        Case(name: "empty non-terminal is NODATA", qname: "b.deep.example.com.", qtype: .a, authority: [negativeSOA]),
        Case(name: "NXDOMAIN with SOA", qname: "nope.example.com.", qtype: .a, rcode: .nxDomain, authority: [negativeSOA]),
        Case(name: "NXDOMAIN below an existing name", qname: "x.www.example.com.", qtype: .a, rcode: .nxDomain, authority: [negativeSOA]),
        Case(name: "wildcard synthesises the owner", qname: "anything.wild.example.com.", qtype: .txt,
             answer: ["anything.wild.example.com. 300 IN TXT \"wildcard\""]),
        Case(name: "wildcard name without the type is NODATA", qname: "anything.wild.example.com.", qtype: .a,
             authority: [negativeSOA]),
        Case(name: "apex SOA", qname: "example.com.", qtype: .soa,
             answer: ["example.com. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 60"]),
    ]

    @Test(arguments: cases)
    func answersAuthoritatively(_ c: Case) async throws {
        let next = FakeNext { Message.response(to: $0.message, rcode: .refused) }
        let request = ForwardFixtures.request(c.qname, c.qtype)
        let response = try await Self.handler().handle(request, next: next.next)
        #expect(next.calls == 0)
        #expect(response.rcode == c.rcode)
        #expect(response.message.header.authoritative)
        #expect(response.message.header.id == request.message.header.id)
        #expect(response.message.questions == request.message.questions)
        #expect(response.message.question?.name.labels == request.question.name.labels, "question echoed byte for byte")
        ForwardFixtures.expectSections(response.message, answer: c.answer, authority: c.authority)
    }

    @Test(arguments: ["example.org.", "notexample.com.", "com.", "."])
    func namesOutsideEveryZoneGoToNext(_ qname: String) async throws {
        let next = FakeNext { Message.response(to: $0.message, rcode: .refused) }
        let response = try await Self.handler().handle(ForwardFixtures.request(qname), next: next.next)
        #expect(next.calls == 1)
        #expect(response.rcode == .refused)
    }

    @Test func mostSpecificZoneWins() async throws {
        let parent = try DomainName("example.com."), child = try DomainName("sub.example.com.")
        let handler = try LocalZonesHandler(config: LocalZonesConfig(zones: [
            parent: ForwardFixtures.records(["example.com. 300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60",
                                             "x.sub.example.com. 300 IN A 192.0.2.1"]),
            child: ForwardFixtures.records(["sub.example.com. 300 IN SOA ns.example.com. h.example.com. 1 1 1 1 30",
                                            "x.sub.example.com. 300 IN A 192.0.2.2"]),
        ]))
        let next = FakeNext { Message.response(to: $0.message, rcode: .refused) }
        let hit = await handler.handle(ForwardFixtures.request("x.sub.example.com."), next: next.next)
        ForwardFixtures.expectSections(hit.message, answer: ["x.sub.example.com. 300 IN A 192.0.2.2"])
        let miss = await handler.handle(ForwardFixtures.request("y.sub.example.com."), next: next.next)
        #expect(miss.rcode == .nxDomain)
        #expect(miss.message.authority.first?.name == child)
    }

    @Test func zoneWithoutSOAIsRejectedNamingTheZone() throws {
        let origin = try DomainName("example.com.")
        #expect {
            try LocalZonesHandler(config: LocalZonesConfig(zones: [origin: ForwardFixtures.records(["www.example.com. 300 IN A 192.0.2.1"])]))
        } throws: { error in
            (error as? ConfigError)?.field == "zones[example.com.]"
        }
    }

    @Test(arguments: [
        "www.example.org. 300 IN A 192.0.2.1",          // outside the zone
        "www.example.com. 300 IN CNAME other.example.com.", // CNAME next to other data
    ])
    func invalidZoneDataIsRejected(_ bad: String) throws {
        let origin = try DomainName("example.com.")
        let records = ForwardFixtures.records(["example.com. 300 IN SOA ns.example.com. h.example.com. 1 1 1 1 60",
                                               "www.example.com. 300 IN A 192.0.2.1", bad])
        #expect(throws: ConfigError.self) { try LocalZonesHandler(config: LocalZonesConfig(zones: [origin: records])) }
    }
}
