import ClusterState
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

    @Test func aNewConfigurationEmptiesTheTable() {
        let table = PrerenderTable()
        let first = AnswerEpoch(snapshot: 0, config: 0)
        #expect(table.lookup(key, snapshot: nil, config: 0) == nil)
        table.store(Self.answer("10.0.0.1"), for: key, epoch: first, dependencies: .unkeyed)
        #expect(table.lookup(key, snapshot: nil, config: 0)?.bytes == Self.answer("10.0.0.1").bytes)
        #expect(table.lookup(key, snapshot: nil, config: 1) == nil)
    }

    @Test func anAnswerFromAnOlderEpochIsNotStored() throws {
        let store = SnapshotStore(nodeName: nil)
        let first = store.install(ClusterObjects(namespaces: ["ns"]))
        let second = try #require(store.apply([Self.service("a", "10.96.0.1")]))
        let table = PrerenderTable()
        _ = table.lookup(key, snapshot: second, config: 0)
        // Resolved against the first snapshot, finished after the second was installed.
        table.store(Self.answer("10.0.0.1"), for: key, epoch: AnswerEpoch(snapshot: first.generation, config: 0), dependencies: .unkeyed)
        #expect(table.lookup(key, snapshot: second, config: 0) == nil)
    }

    @Test func theTableIsBounded() {
        let table = PrerenderTable(capacity: 2)
        let epoch = AnswerEpoch(snapshot: 0, config: 0)
        _ = table.lookup(key, snapshot: nil, config: 0)
        for i in 0..<3 {
            table.store(Self.answer("10.0.0.\(i)"), for: PrerenderKey(name: [UInt8(i)], type: 1), epoch: epoch)
        }
        let kept = (0..<3).filter { table.lookup(PrerenderKey(name: [UInt8($0)], type: 1), snapshot: nil, config: 0) != nil }
        #expect(kept.count == 1, "the third answer starts the full table over")
    }

    @Test func theFirstSnapshotEmptiesWhatWasStoredBeforeIt() {
        let table = PrerenderTable()
        table.store(Self.answer("10.0.0.1"), for: key, epoch: AnswerEpoch(snapshot: 0, config: 0), dependencies: .unkeyed)
        #expect(table.lookup(key, snapshot: nil, config: 0) != nil)
        let store = SnapshotStore(nodeName: nil)
        #expect(table.lookup(key, snapshot: store.install(ClusterObjects(namespaces: ["ns"])), config: 0) == nil)
    }

    static func service(_ name: String, _ ip: String) -> ClusterChange {
        .upsert(.service(Service(key: ServiceKey(namespace: "ns", name: name), kind: .clusterIP([ip]), ports: [])))
    }

    @Test func aNewSnapshotDropsOnlyTheAnswersOfWhatItChanged() throws {
        let store = SnapshotStore(nodeName: nil)
        let first = store.install(ClusterObjects(namespaces: ["ns"]))
        let table = PrerenderTable()
        let a = PrerenderKey(name: Array("\u{1}a".utf8), type: 1), b = PrerenderKey(name: Array("\u{1}b".utf8), type: 1)
        let apex = PrerenderKey(name: [0], type: 6), unkeyed = PrerenderKey(name: Array("\u{2}ns".utf8), type: 1)
        _ = table.lookup(a, snapshot: first, config: 0)
        let epoch = AnswerEpoch(snapshot: first.generation, config: 0)
        table.store(Self.answer("10.0.0.1"), for: a, epoch: epoch, dependencies: .service(ServiceKey(namespace: "ns", name: "a")))
        table.store(Self.answer("10.0.0.2"), for: b, epoch: epoch, dependencies: .service(ServiceKey(namespace: "ns", name: "b")))
        table.store(Self.answer("10.0.0.3"), for: apex, epoch: epoch, dependencies: .anyChange)
        table.store(Self.answer("10.0.0.4"), for: unkeyed, epoch: epoch, dependencies: .unkeyed)
        let second = try #require(store.apply([Self.service("a", "10.96.0.1")]))
        #expect(table.lookup(a, snapshot: second, config: 0) == nil)
        #expect(table.lookup(b, snapshot: second, config: 0) != nil)
        #expect(table.lookup(apex, snapshot: second, config: 0) == nil)
        #expect(table.lookup(unkeyed, snapshot: second, config: 0) != nil)
        // A new configuration empties it.
        #expect(table.lookup(b, snapshot: second, config: 1) == nil)
    }

    @Test func aTableTooFarBehindTheSnapshotsHistoryStartsOver() throws {
        let store = SnapshotStore(nodeName: nil)
        let first = store.install(ClusterObjects(namespaces: ["ns"]))
        let table = PrerenderTable()
        _ = table.lookup(key, snapshot: first, config: 0)
        table.store(Self.answer("10.0.0.1"), for: key, epoch: AnswerEpoch(snapshot: first.generation, config: 0), dependencies: .unkeyed)
        var last = first
        for i in 0...ClusterSnapshot.historyLength { last = try #require(store.apply([Self.service("s\(i)", "10.96.0.1")])) }
        #expect(table.lookup(key, snapshot: last, config: 0) == nil)
    }
}
