import ClusterState
import Synchronization
import Testing

private let twoNodes = ClusterObjects(nodes: [
    Node(name: "node-a", zone: "us-central1-a", region: "us-central1"),
    Node(name: "node-b", zone: "us-central1-b", region: "us-central1"),
])

@Test func installSwapsSnapshotsWithIncreasingGenerations() {
    let store = SnapshotStore(nodeName: "node-b")
    #expect(store.current == nil)
    #expect(!store.hasSynced)
    let first = store.install(twoNodes)
    #expect(first.generation == 1)
    #expect(store.hasSynced)
    #expect(store.current === first)
    #expect(first.node?.zone == "us-central1-b")
    let second = store.install(ClusterObjects())
    #expect(second.generation == 2)
    #expect(store.current === second)
    #expect(second.node == nil)  // the own node vanished from the state
    #expect(first.node?.zone == "us-central1-b")  // an old snapshot never changes
}

@Test func observersRunBeforeInstallReturns() {
    let store = SnapshotStore(nodeName: nil)
    let seen = Mutex<[UInt64]>([])
    store.onInstall { snapshot in seen.withLock { $0.append(snapshot.generation) } }
    store.install(ClusterObjects())
    #expect(seen.withLock { $0 } == [1])
    store.install(ClusterObjects())
    #expect(seen.withLock { $0 } == [1, 2])
}

@Test func generationsStreamStartsWithCurrentAndKeepsOnlyTheNewest() async {
    let store = SnapshotStore(nodeName: nil)
    store.install(ClusterObjects())
    var it = store.generations().makeAsyncIterator()
    #expect(await it.next() == 1)
    store.install(ClusterObjects())
    store.install(ClusterObjects())
    store.install(ClusterObjects())
    // a slow reader is not queued every generation, only the newest
    #expect(await it.next() == 4)
}

@Test func concurrentInstallsGetDistinctGenerations() async {
    let store = SnapshotStore(nodeName: nil)
    let generations = await withTaskGroup(of: UInt64.self) { group in
        for _ in 0..<50 { group.addTask { store.install(ClusterObjects()).generation } }
        var all: [UInt64] = []
        for await g in group { all.append(g) }
        return all
    }
    #expect(Set(generations) == Set(1...50))
    #expect(store.current?.generation == 50)
}
