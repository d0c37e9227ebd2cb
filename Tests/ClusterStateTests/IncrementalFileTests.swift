@testable import ClusterState
import Foundation
import Testing

/// A JSON list state file reloaded item by item: an item whose bytes did not change is not decoded
/// again, only the difference reaches the snapshot, and the result is what a fresh load of the file
/// gives.
@Suite struct IncrementalFileTests {
    static func service(_ i: Int, ip: String? = nil, name: String? = nil) -> String {
        #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name ?? "svc-\(i)")","namespace":"ns-\#(i % 3)","#
            + #""managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}]},"spec":{"clusterIP":"\#(ip ?? "10.96.0.\(i)")","#
            + #""ports":[{"name":"http","port":80,"protocol":"TCP"}]}}"#
    }

    static func slice(_ i: Int, ready: Bool = true) -> String {
        #"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"svc-\#(i)-x7k2p","namespace":"ns-\#(i % 3)","#
            + #""labels":{"kubernetes.io/service-name":"svc-\#(i)"}},"addressType":"IPv4","#
            + #""endpoints":[{"addresses":["10.1.0.\#(i)"],"conditions":{"ready":\#(ready)}}],"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}"#
    }

    static let base = (0..<8).flatMap { [service($0), slice($0)] }
        + [#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"ns-0"}}"#]

    /// One item a line, as `kubectl get -o json` indents them.
    static func list(_ items: [String]) -> String {
        #"{"apiVersion":"v1","items":["# + "\n" + items.joined(separator: ",\n") + "\n" + #"],"kind":"List","metadata":{"resourceVersion":""}}"#
    }

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var items: [String]
        /// How many items the reload decodes.
        var decoded: Int
    }

    static let cases: [Case] = [
        Case(description: "one Service's ClusterIP changes", items: base.map { $0 == service(3) ? service(3, ip: "10.96.1.3") : $0 }, decoded: 1),
        Case(description: "an endpoint turns unready", items: base.map { $0 == slice(5) ? slice(5, ready: false) : $0 }, decoded: 1),
        Case(description: "a Service and its slice added", items: base + [service(9), slice(9)], decoded: 2),
        Case(description: "a Service and its slice removed", items: base.filter { $0 != service(2) && $0 != slice(2) }, decoded: 0),
        Case(description: "the items reordered", items: base.reversed(), decoded: 0),
        Case(description: "a Service renamed", items: base.map { $0 == service(4) ? service(4, name: "renamed") : $0 }, decoded: 1),
        Case(description: "a Namespace object added", items: base + [#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns-9"}}"#],
             decoded: 1),
        Case(description: "the ignored kind removed", items: Array(base.dropLast()), decoded: 0),
        Case(description: "everything changes", items: (0..<8).flatMap { [service($0, ip: "10.96.2.\($0)"), slice($0, ready: false)] }, decoded: 16),
    ]

    /// The snapshot a first load of `text` makes.
    static func rebuilt(_ text: String) throws -> ClusterSnapshot {
        ClusterSnapshot(generation: 1, objects: try ObjectLoader.read(bytes: Array(text.utf8)).objects, nodeName: nil)
    }

    func decodedItems(_ logs: LogRecorder) -> String? {
        logs.entries.withLock { $0.last { $0.message == "cluster state loaded" }?.metadata["cluster.items_decoded"] }
    }

    @Test("a reload decodes only the items that changed and gives what a fresh load gives", arguments: cases)
    func reloadMatchesAFreshLoad(_ c: Case) throws {
        let fixture = try FileSourceTests.loaded()
        let (path, store, logs, source) = (fixture.path, fixture.store, fixture.logs, fixture.source)
        #expect(decodedItems(logs) == "\(Self.base.count)")

        try replaceByRename(path, Self.list(c.items))
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(decodedItems(logs) == "\(c.decoded)")
        let after = try #require(store.current)
        #expect(IncrementalSnapshotTests.view(after) == IncrementalSnapshotTests.view(try Self.rebuilt(Self.list(c.items))))
        let loaded = try #require(logs.entries.withLock { $0.last { $0.message == "cluster state loaded" } })
        #expect(loaded.metadata["cluster.services"] == "\(c.items.filter { $0.contains(#""kind":"Service""#) }.count)")
        #expect(loaded.metadata["cluster.endpointslices"] == "\(c.items.filter { $0.contains(#""kind":"EndpointSlice""#) }.count)")
    }

    @Test("a file cut short mid-write, or garbage, keeps the last snapshot; the next good file is read against it")
    func badContentKeepsTheLastSnapshot() throws {
        let fixture = try FileSourceTests.loaded()
        let (path, store, logs, source) = (fixture.path, fixture.store, fixture.logs, fixture.source)
        let served = IncrementalSnapshotTests.view(try #require(store.current))

        let changed = Self.base.map { $0 == Self.service(1) ? Self.service(1, ip: "10.96.1.1") : $0 }
        let full = Self.list(changed)
        let cut = String(full.prefix(full.utf8.count / 2))
        for (bad, problem) in [(cut, "not valid JSON"), (#"{"apiVersion":"v1","items":[{"#, "not valid JSON"),
                               (String(repeating: "\u{1}garbage", count: 50), "YAML")] {
            let failedBefore = source.reloadsFailed
            try replaceByRename(path, bad)
            guard case .failed(let error) = source.checkNow() else { Issue.record("bad content accepted: \(problem)"); continue }
            #expect("\(error)".contains(problem), "\(error)")
            #expect(source.reloadsFailed == failedBefore + 1)
            #expect(store.current?.generation == 1)
            #expect(IncrementalSnapshotTests.view(try #require(store.current)) == served)
            #expect(logs.entries.withLock { $0.last?.message.hasPrefix("cluster state not reloaded") } == true)
        }

        try replaceByRename(path, full)
        #expect(source.checkNow() == .reloaded(generation: 2))
        #expect(decodedItems(logs) == "1")
        #expect(IncrementalSnapshotTests.view(try #require(store.current)) == IncrementalSnapshotTests.view(try Self.rebuilt(full)))
    }

    @Test("a duplicate is reported at its second occurrence, whether that item changed or not")
    func duplicatesAreStillFound() throws {
        let fixture = try FileSourceTests.loaded()
        let (path, store, source) = (fixture.path, fixture.store, fixture.source)
        for items in [[Self.service(1)] + Self.base, Self.base + [Self.service(1, ip: "10.96.1.1")], [Self.service(1, ip: "10.96.1.1")] + Self.base] {
            let text = Self.list(items)
            try replaceByRename(path, text)
            guard case .failed(let error) = source.checkNow() else { Issue.record("duplicate accepted"); continue }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let second = lines.indices.filter { lines[$0].contains(#""name":"svc-1","#) }.last.map { $0 + 1 }
            #expect(error.problem == "duplicate Service ns-1/svc-1" && error.line == second, "\(error)")
            #expect(store.current?.generation == 1)
        }
    }

    @Test("after another install into the store, the next reload reads the whole file")
    func anotherWriterForcesAFullRead() throws {
        let fixture = try FileSourceTests.loaded()
        let (path, store, logs, source) = (fixture.path, fixture.store, fixture.logs, fixture.source)
        store.install(ClusterObjects())
        let changed = Self.base.map { $0 == Self.slice(2) ? Self.slice(2, ready: false) : $0 }
        try replaceByRename(path, Self.list(changed))
        #expect(source.checkNow() == .reloaded(generation: 3))
        #expect(decodedItems(logs) == "\(Self.base.count)")
        #expect(IncrementalSnapshotTests.view(try #require(store.current)) == IncrementalSnapshotTests.view(try Self.rebuilt(Self.list(changed))))
    }
}

/// After a change, the file is read again on a quiet `stat` only while a same-size rewrite could
/// still carry the change's timestamp: until a read began one timestamp tick after the change.
@Suite struct SettleWindowTests {
    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var nanoseconds: Int
        var readAfter: Int64
        var mayHide: Bool
    }

    static let cases: [Case] = [
        Case(description: "fine timestamps, read 10 ms after the change", nanoseconds: 123_456_789, readAfter: 10_000_000, mayHide: true),
        Case(description: "fine timestamps, read 200 ms after the change", nanoseconds: 123_456_789, readAfter: 200_000_000, mayHide: false),
        Case(description: "whole seconds, read 1 s after the change", nanoseconds: 0, readAfter: 1_000_000_000, mayHide: true),
        Case(description: "whole seconds, read 2.5 s after the change", nanoseconds: 0, readAfter: 2_500_000_000, mayHide: false),
    ]

    @Test(arguments: cases)
    func mayHideAWrite(_ c: Case) {
        var st = stat()
        st.st_mtim = timespec(tv_sec: 1_700_000_000, tv_nsec: c.nanoseconds)
        st.st_ctim = st.st_mtim
        let fingerprint = FileFingerprint(st)
        #expect(fingerprint.mayHideAWrite(readAt: fingerprint.changedAt + c.readAfter) == c.mayHide)
    }
}
