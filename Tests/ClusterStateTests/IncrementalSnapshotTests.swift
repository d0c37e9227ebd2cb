import ClusterState
import Foundation
import Logging
import Testing

/// Incremental snapshots (docs/architecture.md, cluster state): a change edits the indexes of the
/// objects it touches, the result is what indexing everything from scratch gives, and the snapshot
/// names what changed.
@Suite struct IncrementalSnapshotTests {
    static func key(_ name: String, _ namespace: String = "ns") -> ServiceKey { ServiceKey(namespace: namespace, name: name) }

    static func service(_ name: String, _ ips: [String], namespace: String = "ns", headless: Bool = false) -> ClusterObject {
        .service(Service(key: key(name, namespace), kind: headless ? .headless : .clusterIP(ips),
                         ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
    }

    static func slice(_ name: String, of service: String, _ addresses: [String], ready: Bool = true,
                      namespace: String = "ns") -> ClusterObject {
        .endpointSlice(EndpointSlice(name: name, service: key(service, namespace), addressType: "IPv4",
                                     endpoints: addresses.map { Endpoint(addresses: [$0], ready: ready) },
                                     ports: [PortSpec(name: "http", proto: "tcp", port: 80)]))
    }

    static func pod(_ name: String, _ ip: String, namespace: String = "ns") -> ClusterObject {
        .pod(Pod(namespace: namespace, name: name, ips: [ip]))
    }

    static let base: [ClusterObject] = [
        .namespace("ns"), .node(Node(name: "node-a", zone: "z1", region: "r1")), .node(Node(name: "node-b", zone: "z2", region: "r1")),
        service("a", ["10.96.0.1"]), service("b", ["10.96.0.2"]), service("h", [], headless: true),
        slice("a-1", of: "a", ["10.1.0.1", "10.1.0.2"]), slice("b-1", of: "b", ["10.1.1.1"]),
        slice("h-1", of: "h", ["10.1.2.1"]), slice("h-2", of: "h", ["10.1.2.2"], ready: false),
        pod("p1", "10.244.0.1"), pod("p2", "10.244.0.2"),
    ]

    static func objects(_ list: [ClusterObject]) -> ClusterObjects { ClusterObjects().applying(list.map(ClusterChange.upsert)) }

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var changes: [ClusterChange]
        /// What the snapshot must say changed.
        var changed: SnapshotChanges
    }

    static let cases: [Case] = [
        Case(description: "an endpoint added", changes: [.upsert(slice("a-1", of: "a", ["10.1.0.1", "10.1.0.2", "10.1.0.3"]))],
             changed: .keys([.service(key("a")), .address("10.1.0.3")])),
        Case(description: "an endpoint turns unready", changes: [.upsert(slice("h-1", of: "h", ["10.1.2.1"], ready: false))],
             changed: .keys([.service(key("h")), .address("10.1.2.1")])),
        Case(description: "a ClusterIP changes", changes: [.upsert(service("b", ["10.96.0.9"]))],
             changed: .keys([.service(key("b")), .address("10.96.0.2"), .address("10.96.0.9")])),
        Case(description: "a Service deleted (its slices stay, unpublished)",
             changes: [.delete(ObjectRef(kind: .service, namespace: "ns", name: "b"))],
             changed: .keys([.service(key("b")), .address("10.96.0.2"), .address("10.1.1.1")])),
        Case(description: "a slice deleted", changes: [.delete(ObjectRef(kind: .endpointSlice, namespace: "ns", name: "a-1"))],
             changed: .keys([.service(key("a")), .address("10.1.0.1"), .address("10.1.0.2")])),
        Case(description: "a slice moves to another Service", changes: [.upsert(slice("a-1", of: "b", ["10.1.0.1", "10.1.0.2"]))],
             changed: .keys([.service(key("a")), .service(key("b")), .address("10.1.0.1"), .address("10.1.0.2")])),
        Case(description: "an equal object changes nothing", changes: [.upsert(service("a", ["10.96.0.1"])), .upsert(base[6])],
             changed: .nothing),
        Case(description: "a pod's IP changes", changes: [.upsert(pod("p1", "10.244.0.9"))],
             changed: .keys([.address("10.244.0.1"), .address("10.244.0.9")])),
        Case(description: "a Service in a new namespace: everything", changes: [.upsert(service("c", ["10.96.0.3"], namespace: "new"))],
             changed: .everything),
        Case(description: "the own node's zone: everything", changes: [.upsert(.node(Node(name: "node-a", zone: "z9", region: "r1")))],
             changed: .everything),
        Case(description: "another node: nothing", changes: [.upsert(.node(Node(name: "node-b", zone: "z9", region: "r1")))],
             changed: .nothing),
        Case(description: "a namespace object deleted while a Service still names it: nothing",
             changes: [.delete(ObjectRef(kind: .namespace, namespace: "", name: "ns"))], changed: .nothing),
    ]

    /// Everything a query can read, in a comparable form (addresses as a set: their order follows slice arrival).
    static func view(_ s: ClusterSnapshot) -> [String] {
        var lines: [String] = []
        for (key, service) in s.services { lines.append("svc \(key) \(service.kind) published=\(s.readyAddresses(of: service).map { "\($0.address)/\($0.label)" }.sorted())") }
        for (address, entries) in s.reverseIndex { lines.append("ptr \(address) \(entries.map { "\($0.service)/\($0.endpointHost ?? "-")" })") }
        for (ip, pod) in s.podsByIP { lines.append("pod \(ip) \(pod.namespace)/\(pod.name)") }
        lines.append("namespaces \(s.namespaces.sorted())")
        lines.append("node \(String(describing: s.node))")
        return lines.sorted()
    }

    @Test("a change gives the indexes a full rebuild would, and names what it changed", arguments: cases)
    func changeMatchesRebuild(_ c: Case) throws {
        let store = SnapshotStore(nodeName: "node-a")
        store.install(Self.objects(Self.base))
        let after = try #require(store.apply(c.changes))
        let rebuilt = ClusterSnapshot(generation: 1, objects: Self.objects(Self.base).applying(c.changes), nodeName: "node-a")
        #expect(Self.view(after) == Self.view(rebuilt))
        #expect(after.changes == c.changed)
    }

    @Test("a relist deletes what it lacks and names only what differs")
    func relist() throws {
        let store = SnapshotStore(nodeName: "node-a")
        store.install(Self.objects(Self.base))
        let services = Self.base.filter { $0.id.kind == .service && $0.id.name != "b" }
        let after = try #require(store.replace(.service, with: services))
        #expect(after.service("b", namespace: "ns") == nil)
        #expect(after.changes == .keys([.service(Self.key("b")), .address("10.96.0.2"), .address("10.1.1.1")]))
    }

    @Test("changes(since:) merges the generations in between; too far back is everything")
    func changesSince() throws {
        let store = SnapshotStore(nodeName: "node-a")
        let first = store.install(Self.objects(Self.base))
        store.apply([.upsert(Self.service("a", ["10.96.0.7"]))])
        let third = try #require(store.apply([.upsert(Self.service("b", ["10.96.0.8"]))]))
        #expect(third.changes(since: first.generation) == .keys([
            .service(Self.key("a")), .address("10.96.0.1"), .address("10.96.0.7"),
            .service(Self.key("b")), .address("10.96.0.2"), .address("10.96.0.8"),
        ]))
        #expect(third.changes(since: third.generation) == .nothing)
        var last = third
        for i in 0..<ClusterSnapshot.historyLength { last = try #require(store.apply([.upsert(Self.pod("p1", "10.244.1.\(i)"))])) }
        #expect(last.changes(since: first.generation) == .everything)
        #expect(first.changes == .everything)
    }

    @Test("a reloaded file is applied as a diff: only the changed Service's names change")
    func fileReloadIsADiff() throws {
        let dir = try TempDir()
        let path = dir.file("cluster.yaml")
        func state(_ ip: String) -> String {
            """
            apiVersion: v1
            kind: Service
            metadata: {name: nginx, namespace: mynamespace}
            spec: {clusterIP: \(ip)}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: other, namespace: mynamespace}
            spec: {clusterIP: 10.96.5.5}
            """
        }
        try state("10.96.0.10").write(toFile: path, atomically: true, encoding: .utf8)
        let store = SnapshotStore(nodeName: nil)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let source = FileSource(path: path, store: store, logger: logger)
        try source.loadOnce()
        try replaceByRename(path, state("10.96.0.11"))
        #expect(source.checkNow() != .unchanged)
        let key = ServiceKey(namespace: "mynamespace", name: "nginx")
        #expect(store.current?.changes == .keys([.service(key), .address("10.96.0.10"), .address("10.96.0.11")]))
    }
}
