import DNSWire
import NameExpansion
import Testing
@testable import Server

/// No cluster answer outlives its snapshot or its configuration (docs/behaviour.md, federation rule 3).
@Suite struct PrerenderTableTests {
    static func answer(_ ip: String) -> PrerenderedAnswer {
        let name = DomainName(labels: ["nginx", "mynamespace", "svc", "cluster", "local"])
        var m = Message.response(to: .query(id: 1, name: name, type: .a, edns: nil))
        m.answer = [ResourceRecord(name: name, type: .a, ttl: 5, rdata: RData.a(ip)!)]
        return PrerenderedAnswer(rendering: m)
    }

    let key = PrerenderKey(name: Array("\u{5}nginx".utf8), type: 1)

    @Test func aNewSnapshotOrConfigurationEmptiesTheTable() {
        let table = PrerenderTable()
        let first = AnswerEpoch(snapshot: 1, config: 0)
        #expect(table.lookup(key, current: first) == nil)
        table.store(Self.answer("10.0.0.1"), for: key, epoch: first)
        #expect(table.lookup(key, current: first)?.bytes == Self.answer("10.0.0.1").bytes)
        #expect(table.lookup(key, current: AnswerEpoch(snapshot: 2, config: 0)) == nil)
        table.store(Self.answer("10.0.0.2"), for: key, epoch: AnswerEpoch(snapshot: 2, config: 0))
        #expect(table.lookup(key, current: AnswerEpoch(snapshot: 2, config: 1)) == nil)
    }

    @Test func anAnswerFromAnOlderEpochIsNotStored() {
        let table = PrerenderTable()
        _ = table.lookup(key, current: AnswerEpoch(snapshot: 2, config: 0))
        // Resolved against snapshot 1, finished after snapshot 2 was installed.
        table.store(Self.answer("10.0.0.1"), for: key, epoch: AnswerEpoch(snapshot: 1, config: 0))
        #expect(table.lookup(key, current: AnswerEpoch(snapshot: 2, config: 0)) == nil)
    }

    @Test func theTableIsBounded() {
        let table = PrerenderTable(capacity: 2)
        let epoch = AnswerEpoch(snapshot: 1, config: 0)
        _ = table.lookup(key, current: epoch)
        for i in 0..<3 {
            table.store(Self.answer("10.0.0.\(i)"), for: PrerenderKey(name: [UInt8(i)], type: 1), epoch: epoch)
        }
        let kept = (0..<3).filter { table.lookup(PrerenderKey(name: [UInt8($0)], type: 1), current: epoch) != nil }
        #expect(kept.count <= 2)
    }
}
