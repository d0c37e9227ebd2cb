import Clocks
import ClusterState
import Logging
import Metrics
import Synchronization

/// Gathers the reflectors' first lists into one complete state (installed once every needed kind is
/// listed: the first sync), then feeds the store: watch events through `apply`, relists through `replace`.
/// Events that arrive before the first sync change the gathered lists.
public final class ClusterSync: Sendable {
    public let store: SnapshotStore
    public let needed: Set<ObjectKind>
    /// Contact with the API server, per resource (`fedns publish` reads it as the cluster's readability).
    public let reachability = Reachability()
    private let logger: Logger
    private let metrics: KubeMetrics

    private struct Gathering {
        var objects = ClusterObjects()
        var listed: Set<ObjectKind> = []
    }
    /// nil once the first sync is installed. Held while installing, so events and lists are applied in order.
    private let gathering: Mutex<Gathering?>

    public init(store: SnapshotStore, needed: Set<ObjectKind>, metrics: KubeMetrics, logger: Logger) {
        self.store = store
        self.needed = needed
        self.metrics = metrics
        self.logger = logger
        gathering = Mutex(Gathering())
    }

    /// Whether the first sync is installed.
    public var hasSynced: Bool { gathering.withLock { $0 == nil } }

    /// A complete list of `kind` (first list or relist): what it lacks was deleted.
    public func listed(_ kind: ObjectKind, _ objects: [ClusterObject]) {
        gathering.withLock { g in
            guard var pending = g else {
                store.replace(kind, with: objects)
                return
            }
            pending.objects = pending.objects.replacing(kind, with: objects)
            pending.listed.insert(kind)
            if needed.isSubset(of: pending.listed) {
                let snapshot = store.install(pending.objects)
                g = nil
                logger.info("kubernetes: first sync installed", metadata: [
                    "cluster.generation": "\(snapshot.generation)",
                    "cluster.services": "\(pending.objects.services.count)",
                    "cluster.endpointslices": "\(pending.objects.endpointSlices.count)",
                    "cluster.namespaces": "\(pending.objects.namespaces.count)",
                    "cluster.pods": "\(pending.objects.pods.count)",
                    "cluster.node": "\(snapshot.node?.name ?? "-")",
                ])
                if let node = store.nodeName, needed.contains(.node), snapshot.node == nil {
                    logger.warning("kubernetes: the own Node is not in the cluster; zone and region are unknown",
                                   metadata: ["kube.node": "\(node)"])
                }
            } else {
                g = pending
            }
        }
        // A list's decoded objects are garbage once indexed (the relist peak, docs/architecture.md).
        Memory.releaseFreePages()
    }

    /// One page of a relist after the first sync, applied as it arrives (most objects are unchanged
    /// and change nothing): a relist then holds one page of decoded objects beside the snapshot, not
    /// the whole list. Adds the page's objects to `seen`; ``relisted(_:seen:)`` ends the relist.
    /// False before the first sync: then the page must be gathered and handed to ``listed(_:_:)``.
    public func relistPage(_ objects: [ClusterObject], seen: inout Set<ObjectRef>) -> Bool {
        gathering.withLock { g in
            guard g == nil else { return false }
            for object in objects { seen.insert(object.id) }
            store.upsert(objects)
            return true
        }
    }

    /// The end of a relist applied page by page: what its pages lacked was deleted meanwhile.
    public func relisted(_ kind: ObjectKind, seen: Set<ObjectRef>) {
        gathering.withLock { _ in _ = store.remove(kind, except: seen) }
        Memory.releaseFreePages()
    }

    /// Watch events that arrived together, applied as one change.
    /// - Parameter arrivedAt: wall-clock nanoseconds when their bytes arrived, for the event-to-answer delay.
    public func apply(_ changes: [ClusterChange], arrivedAt: Int64) {
        guard !changes.isEmpty else { return }
        gathering.withLock { g in
            if var pending = g {
                pending.objects = pending.objects.applying(changes)
                g = pending
                return
            }
            store.apply(changes)
            metrics.eventToAnswer.recordNanoseconds(max(0, WallClock.nanosecondsSinceEpoch() - arrivedAt))
        }
    }
}
