/// A part of the cluster state an answer can be derived from; a snapshot names the parts its
/// install changed, so pre-rendered answers derived from other parts stay (docs/architecture.md,
/// cluster state).
public enum DependencyKey: Hashable, Sendable {
    /// A Service's names: the Service, its SRV names and endpoint names (its EndpointSlices
    /// change them too), and the federated names that read its health.
    case service(ServiceKey)
    /// A canonical IP address: its reverse name, and its pod name under `pods: verified`.
    case address(String)
}

/// What an answer was derived from.
public enum AnswerDependencies: Hashable, Sendable {
    /// Any change to the cluster may change it (the apex SOA, whose serial is the generation).
    case anyChange
    /// Only a change to one of these keys, or one that changes everything, may change it.
    case keys(Set<DependencyKey>)

    /// Changes only when everything does (namespaces, the own node's topology).
    public static let unkeyed = AnswerDependencies.keys([])

    public static func service(_ key: ServiceKey) -> AnswerDependencies { .keys([.service(key)]) }

    /// Both sets: an answer built from two answers depends on what either did.
    public func union(_ other: AnswerDependencies) -> AnswerDependencies {
        guard case .keys(let a) = self, case .keys(let b) = other else { return .anyChange }
        return .keys(a.union(b))
    }
}

/// What changed between two snapshots.
public enum SnapshotChanges: Equatable, Sendable {
    /// Every answer may differ: a first install, a namespace appearing or disappearing, the own
    /// node's topology, or more keys than are worth tracking one by one.
    case everything
    /// Only answers derived from these keys may differ.
    case keys(Set<DependencyKey>)

    /// Past this many keys a change counts as `everything`: evicting that many answers one by one
    /// costs more than starting the table over.
    public static let maxTrackedKeys = 4096

    public static let nothing = SnapshotChanges.keys([])

    /// Whether an answer with `dependencies` may differ after these changes.
    public func affects(_ dependencies: AnswerDependencies) -> Bool {
        switch (self, dependencies) {
        case (.everything, _), (_, .anyChange): return true
        case (.keys(let changed), .keys(let used)): return !changed.isDisjoint(with: used)
        }
    }

    func merged(with other: SnapshotChanges) -> SnapshotChanges {
        guard case .keys(let a) = self, case .keys(let b) = other else { return .everything }
        let all = a.union(b)
        return all.count > Self.maxTrackedKeys ? .everything : .keys(all)
    }
}

/// Records the keys an install touches, collapsing to `everything` when it is too many.
struct ChangeRecorder {
    private(set) var changes = SnapshotChanges.nothing

    mutating func touch(_ key: DependencyKey) {
        guard case .keys(var keys) = changes else { return }
        changes = .nothing  // keeps `keys` uniquely referenced while it grows
        keys.insert(key)
        changes = keys.count > SnapshotChanges.maxTrackedKeys ? .everything : .keys(keys)
    }

    mutating func touchService(_ key: ServiceKey) { touch(.service(key)) }

    mutating func everything() { changes = .everything }
}
