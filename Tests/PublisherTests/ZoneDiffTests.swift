import ClusterState
import DNSWire
import NameExpansion
@testable import Publisher
import Testing

@Suite struct ZoneDiffTests {
    let diff = ZoneDiff(planner: planner, ttl: 180, ownershipText: ownership)
    let p = "nginx.mynamespace.myfederation.svc"

    func zone(_ text: String) throws -> ZoneContents {
        ZoneContents(try ResourceRecord.parseAll("example.com. 3600 IN SOA ns.example.com. h.example.com. 1 2 3 4 5\n" + text))
    }

    func desired(_ text: String) throws -> [ServiceKey: ServiceRecords] {
        var names: [DomainName: NameContent] = [:]
        for r in try ResourceRecord.parseAll(text) {
            if r.type == .cname { names[r.name] = .alias(RData.readName(r.rdata)!.0); continue }
            guard case .addresses(var v4, var v6) = names[r.name] ?? .addresses(v4: [], v6: []) else { continue }
            if r.type == .a { v4.insert(IPAddress.text(r.rdata)!) } else { v6.insert(IPAddress.text(r.rdata)!) }
            names[r.name] = .addresses(v4: v4, v6: v6)
        }
        return [nginx: ServiceRecords(service: nginx, names: names)]
    }

    func text(_ records: [ResourceRecord]) -> [String] { records.map(\.zoneText).map(normalised).sorted() }

    @Test func aZoneThatMatchesGetsNoUpdate() throws {
        let updates = diff.updates(desired: try desired("\(p).example.com. 180 IN A 192.0.2.1"), zone: try zone("""
            \(p).example.com. 180 IN A 192.0.2.1
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            """))
        #expect(updates.count == 1 && updates[0].isEmpty && updates[0].managedRecords == 2)
    }

    /// One address changes: that record goes, the new one comes; the one that is right is not rewritten, and
    /// the update holds only if the set and the ownership record are still what was read.
    @Test func minimalDiffWithValueDependentPrerequisites() throws {
        let u = try #require(diff.updates(desired: try desired("""
            \(p).example.com. 180 IN A 192.0.2.1
            \(p).example.com. 180 IN A 192.0.2.3
            """), zone: try zone("""
            \(p).example.com. 180 IN A 192.0.2.1
            \(p).example.com. 180 IN A 192.0.2.2
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            """)).first)
        #expect(text(u.removed) == lines("\(p).example.com. 180 IN A 192.0.2.2"))
        #expect(text(u.added) == lines("\(p).example.com. 180 IN A 192.0.2.3"))
        #expect(text(u.updates) == lines("""
            \(p).example.com. 0 NONE A 192.0.2.2
            \(p).example.com. 180 IN A 192.0.2.3
            """))
        #expect(text(u.prerequisites) == lines("""
            \(p).example.com. 0 IN A 192.0.2.1
            \(p).example.com. 0 IN A 192.0.2.2
            _fedns.\(p).example.com. 0 IN TXT "\(ownership)"
            """))
    }

    /// A new name is created only if nobody uses it or its ownership name (RFC 2136 "name is not in use").
    @Test func newNameRequiresTheNameToBeFree() throws {
        let u = try #require(diff.updates(desired: try desired("\(p).example.com. 180 IN A 192.0.2.1"), zone: try zone("")).first)
        #expect(text(u.prerequisites) == lines("""
            \(p).example.com. 0 NONE ANY \\# 0
            _fedns.\(p).example.com. 0 NONE ANY \\# 0
            """))
        #expect(text(u.added) == lines("""
            \(p).example.com. 180 IN A 192.0.2.1
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            """))
    }

    /// A name that holds records without fedns's ownership record is never touched: a conflict.
    @Test(arguments: ["\\(p).example.com. 300 IN A 192.0.2.9", "_fedns.\\(p).example.com. 300 IN TXT \"heritage=fedns,owner=other\""])
    func foreignNamesAreConflicts(_ record: String) throws {
        let foreign = record.replacingOccurrences(of: "\\(p)", with: p)
        let u = try #require(diff.updates(desired: try desired("\(p).example.com. 180 IN A 192.0.2.1"), zone: try zone(foreign)).first)
        #expect(u.isEmpty)
        #expect(u.conflicts == [try DomainName("\(p).example.com")])
    }

    /// A healthy shard coming back turns the CNAME into addresses in one update: CNAME out first, then A in.
    @Test func aliasBecomesAddresses() throws {
        let u = try #require(diff.updates(desired: try desired("\(p).us-central1.example.com. 180 IN A 203.0.113.30"), zone: try zone("""
            \(p).us-central1.example.com. 180 IN CNAME \(p).example.com.
            _fedns.\(p).us-central1.example.com. 180 IN TXT "\(ownership)"
            """)).first)
        #expect(u.updates.map(\.type) == [.cname, .a])
        #expect(u.updates[0].class == .none)
    }

    /// A name fedns owns but no longer wants goes with its ownership record; names of other services stay.
    @Test func unwantedOwnedNamesAreRemoved() throws {
        let updates = diff.updates(desired: [:], zone: try zone("""
            \(p).example.com. 180 IN A 192.0.2.1
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            other.example.com. 180 IN A 192.0.2.7
            """))
        let u = try #require(updates.first)
        #expect(updates.count == 1 && u.service == nginx)
        #expect(text(u.removed) == lines("""
            \(p).example.com. 180 IN A 192.0.2.1
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            """))
        #expect(u.added.isEmpty)
    }

    /// A TTL that differs from the configured one is corrected by replacing the set.
    @Test func wrongTTLReplacesTheSet() throws {
        let u = try #require(diff.updates(desired: try desired("\(p).example.com. 180 IN A 192.0.2.1"), zone: try zone("""
            \(p).example.com. 60 IN A 192.0.2.1
            _fedns.\(p).example.com. 180 IN TXT "\(ownership)"
            """)).first)
        #expect(text(u.updates) == lines("""
            \(p).example.com. 0 ANY A \\# 0
            \(p).example.com. 180 IN A 192.0.2.1
            """))
    }
}
