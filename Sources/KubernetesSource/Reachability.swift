import Clocks
import ClusterState
import Synchronization

/// Whether the API server can be read right now, per resource: a list page, an open watch, an event or a
/// bookmark counts as contact; a failed request as lost contact until the next one. `fedns publish` takes a
/// member cluster's shards out when it has been unreadable for longer than `clusterUnhealthyAfter`.
public final class Reachability: Sendable {
    private struct State {
        var lastContact: [ObjectKind: Double] = [:]
        var failing: Set<ObjectKind> = []
        /// The server-wide problem last logged (`APIProblem.serverWide`), nil while the server answers.
        var serverProblem: String?
    }
    private let state = Mutex(State())

    public init() {}

    func contact(_ kind: ObjectKind) {
        let now = WallClock.secondsSinceEpoch()
        state.withLock { $0.lastContact[kind] = now; $0.failing.remove(kind) }
    }

    func lost(_ kind: ObjectKind) { _ = state.withLock { $0.failing.insert(kind) } }

    /// Whether a resource's failure with `problem` is news to log: a problem of the whole server (it
    /// is unreachable, or rejects the credentials) is said by the first resource that meets it, not
    /// once per watched resource; any other problem is the resource's own and always news.
    func isNews(_ problem: APIProblem) -> Bool {
        guard let key = problem.serverWide else { return true }
        return state.withLock { s in
            defer { s.serverProblem = key }
            return s.serverProblem != key
        }
    }

    /// Whether a resource's recovery from `problem` is news to log: the end of a server-wide problem
    /// is said once, by the first resource the server answers again. Any recovery shows the server
    /// answering, so the next server-wide problem is news again.
    func isRecoveryNews(_ problem: APIProblem) -> Bool {
        state.withLock { s in
            defer { s.serverProblem = nil }
            return problem.serverWide == nil || s.serverProblem != nil
        }
    }

    /// The wall-clock time (seconds since the epoch) up to which every resource is known readable: `now`
    /// while no resource is failing, else the oldest last contact of a failing one; nil before any contact.
    public func readableUntil(now: Double = WallClock.secondsSinceEpoch()) -> Double? {
        state.withLock { s in
            guard !s.lastContact.isEmpty else { return nil }
            if s.failing.isEmpty { return now }
            return s.failing.map { s.lastContact[$0] ?? 0 }.min()
        }
    }
}
