import ClusterState
import Testing

/// Watch events and relists applied to the store (docs/architecture.md, cluster state).
@Suite struct ChangesTests {
    static func service(_ name: String, _ ip: String) -> ClusterObject {
        .service(Service(key: ServiceKey(namespace: "ns", name: name), kind: .clusterIP([ip]), ports: []))
    }

    @Test func changesBeforeTheFirstSyncInstallNothing() {
        let store = SnapshotStore(nodeName: nil)
        #expect(store.apply([.upsert(Self.service("a", "10.0.0.1"))]) == nil)
        #expect(store.replace(.service, with: []) == nil)
        #expect(!store.hasSynced)
    }

    @Test func anEventChangesOnlyTheObjectItNames() throws {
        let store = SnapshotStore(nodeName: nil)
        store.install(ClusterObjects(services: [], namespaces: ["ns"]).applying([
            .upsert(Self.service("a", "10.0.0.1")), .upsert(Self.service("b", "10.0.0.2")),
        ]))
        let after = try #require(store.apply([
            .upsert(Self.service("a", "10.0.0.9")),
            .delete(ObjectRef(kind: .service, namespace: "ns", name: "b")),
            .upsert(Self.service("c", "10.0.0.3")),
        ]))
        #expect(after.service("a", namespace: "ns")?.kind == .clusterIP(["10.0.0.9"]))
        #expect(after.service("b", namespace: "ns") == nil)
        #expect(after.service("c", namespace: "ns")?.kind == .clusterIP(["10.0.0.3"]))
        #expect(after.namespaces == ["ns"])
    }

    @Test func aRelistRemovesWhatWasDeletedMeanwhileAndKeepsOtherKinds() throws {
        let store = SnapshotStore(nodeName: nil)
        store.install(ClusterObjects(namespaces: ["ns", "other"]).applying([
            .upsert(Self.service("a", "10.0.0.1")), .upsert(Self.service("b", "10.0.0.2")),
        ]))
        let after = try #require(store.replace(.service, with: [Self.service("b", "10.0.0.2")]))
        #expect(after.service("a", namespace: "ns") == nil)
        #expect(after.service("b", namespace: "ns") != nil)
        #expect(after.namespaces == ["ns", "other"])
    }
}
