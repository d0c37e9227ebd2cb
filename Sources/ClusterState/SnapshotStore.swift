import Clocks
import Metrics
import Synchronization

/// Holds the current ``ClusterSnapshot`` and swaps it on every install (docs/architecture.md, cluster state).
///
/// Reading ``current`` is one uncontended lock and a retain, cheap enough for every query. Installs
/// are serialised and the new snapshot is built outside the readers' lock, so a large cluster never
/// stalls queries while it is indexed.
public final class SnapshotStore: Sendable {
    /// The own node's name; the snapshot's `node` is the Node object of that name.
    public let nodeName: String?

    private struct Readers {
        var current: ClusterSnapshot?
        var streams: [Int: AsyncStream<UInt64>.Continuation] = [:]
        var nextStreamID = 0
        var observers: [@Sendable (ClusterSnapshot) -> Void] = []
    }

    private let readers = Mutex(Readers())
    /// Serialises installs; holds the last generation handed out and the snapshot it made. The
    /// objects live only in that snapshot's indexes: a change edits a copy of them, shard by shard.
    private let writer = Mutex<(generation: UInt64, latest: ClusterSnapshot?)>((0, nil))
    private let metrics: StoreMetrics

    /// - Parameters:
    ///   - nodeName: the own node (`--node-name`, `NODE_NAME`, or `nodeName` in the config).
    public init(nodeName: String?) {
        self.nodeName = nodeName
        self.metrics = StoreMetrics()
    }

    /// The snapshot queries are answered from; nil before the first install.
    public var current: ClusterSnapshot? { readers.withLock { $0.current } }

    /// True once a complete cluster state has been installed (docs/behaviour.md, federation rule 5).
    public var hasSynced: Bool { current != nil }

    /// Makes `objects` the cluster state, as the next generation, then tells observers.
    ///
    /// The first install indexes everything; a later one (a reloaded file, a full relist) is diffed
    /// against the installed objects, so only the names of objects that differ lose their answers.
    /// Observers run on the installing thread, in install order; they must not install themselves.
    @discardableResult
    public func install(_ objects: ClusterObjects) -> ClusterSnapshot {
        writer.withLock { w in
            guard let latest = w.latest else {
                return publish(ClusterIndexes(objects: objects, nodeName: nodeName), changes: .everything, &w)
            }
            var indexes = latest.indexes
            var changed = ChangeRecorder()
            let all = objects.all
            for kind in ObjectKind.allCases { indexes.replace(kind, with: all, &changed) }
            return publish(indexes, changes: changed.changes, &w)
        }
    }

    /// Applies watch events to the installed objects and installs the result as the next generation.
    /// Only the indexes of the objects the events name are touched. Before the first install there
    /// is nothing to change: nil.
    @discardableResult
    public func apply(_ changes: [ClusterChange]) -> ClusterSnapshot? {
        writer.withLock { w in
            guard let latest = w.latest else { return nil }
            var indexes = latest.indexes
            var changed = ChangeRecorder()
            for change in changes { indexes.apply(change, &changed) }
            return publish(indexes, changes: changed.changes, &w)
        }
    }

    /// Replaces every installed object of `kind` with `objects` (a relist: what it lacks was deleted meanwhile)
    /// and installs the result. Before the first install there is nothing to replace: nil.
    @discardableResult
    public func replace(_ kind: ObjectKind, with objects: [ClusterObject]) -> ClusterSnapshot? {
        writer.withLock { w in
            guard let latest = w.latest else { return nil }
            var indexes = latest.indexes
            var changed = ChangeRecorder()
            indexes.replace(kind, with: objects, &changed)
            return publish(indexes, changes: changed.changes, &w)
        }
    }

    /// Upserts `objects` (one page of a relist) and installs the result, only when anything differs:
    /// a relist mostly meets objects equal to the installed ones. Returns the current snapshot; nil
    /// before the first install.
    @discardableResult
    public func upsert(_ objects: [ClusterObject]) -> ClusterSnapshot? {
        writer.withLock { w in
            guard let latest = w.latest else { return nil }
            let differing = objects.filter { !latest.indexes.holds($0) }
            if differing.isEmpty { return latest }
            var indexes = latest.indexes
            var changed = ChangeRecorder()
            for object in differing { indexes.apply(.upsert(object), &changed) }
            return publish(indexes, changes: changed.changes, &w)
        }
    }

    /// Deletes every installed object of `kind` that `kept` does not name (the end of a relist whose
    /// pages were upserted) and installs the result, only when anything was deleted. Returns the
    /// current snapshot; nil before the first install.
    @discardableResult
    public func remove(_ kind: ObjectKind, except kept: Set<ObjectRef>) -> ClusterSnapshot? {
        writer.withLock { w in
            guard let latest = w.latest else { return nil }
            guard latest.indexes.refs(of: kind).contains(where: { !kept.contains($0) }) else { return latest }
            var indexes = latest.indexes
            var changed = ChangeRecorder()
            indexes.remove(kind, except: kept, &changed)
            return publish(indexes, changes: changed.changes, &w)
        }
    }

    private func publish(_ indexes: ClusterIndexes, changes: SnapshotChanges,
                         _ w: inout (generation: UInt64, latest: ClusterSnapshot?)) -> ClusterSnapshot {
        w.generation += 1
        let snapshot = ClusterSnapshot(generation: w.generation, indexes: indexes, changes: changes, after: w.latest)
        w.latest = snapshot
        let (streams, observers) = readers.withLock { r in
            r.current = snapshot
            return (Array(r.streams.values), r.observers)
        }
        metrics.record(indexes, generation: snapshot.generation)
        for stream in streams { stream.yield(snapshot.generation) }
        for observer in observers { observer(snapshot) }
        return snapshot
    }

    /// The generation of every install from now on, starting with the current one when there is one.
    ///
    /// A slow reader sees only the newest generation (older ones are dropped, never queued).
    public func generations() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = readers.withLock { r in
            let id = r.nextStreamID
            r.nextStreamID += 1
            r.streams[id] = continuation
            if let current = r.current { continuation.yield(current.generation) }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.readers.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Calls `observer` synchronously after every install (e.g. to drop pre-rendered answers).
    public func onInstall(_ observer: @escaping @Sendable (ClusterSnapshot) -> Void) {
        readers.withLock { $0.observers.append(observer) }
    }
}

/// `fedns_cluster_*` gauges, declared once per store.
private struct StoreMetrics: Sendable {
    let services = Gauge(label: "fedns_cluster_objects", dimensions: [("kind", "service")])
    let slices = Gauge(label: "fedns_cluster_objects", dimensions: [("kind", "endpointslice")])
    let namespaces = Gauge(label: "fedns_cluster_objects", dimensions: [("kind", "namespace")])
    let nodes = Gauge(label: "fedns_cluster_objects", dimensions: [("kind", "node")])
    let pods = Gauge(label: "fedns_cluster_objects", dimensions: [("kind", "pod")])
    let generation = Gauge(label: "fedns_cluster_snapshot_generation")
    let lastSync = Gauge(label: "fedns_cluster_last_sync_timestamp_seconds")

    func record(_ indexes: ClusterIndexes, generation: UInt64) {
        services.record(indexes.services.count)
        slices.record(indexes.sliceOwners.count)
        namespaces.record(indexes.namespaceObjects.count)
        nodes.record(indexes.nodeNames.count)
        pods.record(indexes.pods.count)
        self.generation.record(Double(generation))
        lastSync.record(WallClock.secondsSinceEpoch())
    }
}
