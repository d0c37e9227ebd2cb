import Testing
import NameExpansion
@testable import DNSWire

@Suite("Zone text")
struct ZoneTextTests {
    @Test func recordTextRoundTrips() throws {
        for line in ["web.example.\t5\tIN\tA\t10.0.0.1",
                     "_http._tcp.web.example.\t5\tIN\tSRV\t0 100 80 web.example.",
                     "example.\t5\tIN\tSOA\tns.example. hostmaster.example. 1 7200 1800 86400 5",
                     "web.example.\t5\tIN\tTXT\t\"1.1.0\""] {
            let record = try ResourceRecord(zoneText: line)
            #expect(record.zoneText == line)
            #expect(try ResourceRecord(zoneText: record.zoneText) == record)
        }
    }

    @Test func relativeNamesUseOriginAndDefaultTTL() throws {
        let record = try ResourceRecord(zoneText: "web A 10.0.0.1", origin: name("example."), defaultTTL: 42)
        #expect(record == ResourceRecord(name: name("web.example."), type: .a, ttl: 42, rdata: [10, 0, 0, 1]))
    }

    @Test func badRecordIsAnError() {
        #expect(throws: WireError.self) { try ResourceRecord(zoneText: "web.example. 5 IN A 10.0.0") }
    }

    @Test func parseAllSkipsBlankAndCommentLinesAndNamesTheBadOne() throws {
        let records = try ResourceRecord.parseAll("""
            ; the service
            web.example. 5 IN A 10.0.0.1

              web.example. 5 IN AAAA fd00::1
            """)
        #expect(records.map(\.type) == [.a, .aaaa])
        do {
            _ = try ResourceRecord.parseAll("web.example. 5 IN A 10.0.0.1\nx.example. 5 IN A nope")
            Issue.record("a bad record parsed")
        } catch {
            #expect(error.message.hasPrefix("line 2: record 'x.example. 5 IN A nope'"), "\(error)")
        }
    }

    @Test func zoneFileHonoursOriginAndTTLDirectives() throws {
        let records = try ZoneFile.parse("""
            $ORIGIN example.com.
            $TTL 300
            @ IN SOA ns1 hostmaster ( 1 7200 1800 86400 60 )
            nginx.mynamespace.myfederation.svc.us-central1-a IN A 192.0.2.10
            www 60 IN CNAME nginx.mynamespace.myfederation.svc.us-central1-a
            """, origin: nil)
        #expect(records.map(\.type) == [.soa, .a, .cname])
        #expect(records[0].name == name("example.com."))
        #expect(records[1].name == name("nginx.mynamespace.myfederation.svc.us-central1-a.example.com."))
        #expect(records[1].ttl == 300 && records[2].ttl == 60)
        #expect(records[2].targetName == name("nginx.mynamespace.myfederation.svc.us-central1-a.example.com."))
    }

    @Test func zoneFileErrorNamesTheLine() {
        do {
            _ = try ZoneFile.parse("$TTL 60\na.example. IN A 10.0.0.1\nb.example. IN A bogus\n", origin: nil)
            Issue.record("a bad zone parsed")
        } catch {
            #expect(error.message.hasPrefix("zone line 3"), "\(error)")
        }
    }

    @Test func messageDescriptionReadsLikeDig() {
        var m = response("web.example.", .a, answer: ["web.example. 5 IN A 10.0.0.1"], edns: EDNS(dnssecOK: true))
        m.addExtendedError(.notReady)
        let text = m.description
        #expect(text.contains("status: NOERROR, id: 4660"))
        #expect(text.contains("flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1"))
        #expect(text.contains("; EDE: 14"))
        #expect(text.contains("web.example.\t5\tIN\tA\t10.0.0.1"))
    }
}
