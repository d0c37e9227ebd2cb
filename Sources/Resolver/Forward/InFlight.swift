import Synchronization

/// Coalesces identical concurrent operations: the first caller for a key runs the operation,
/// callers arriving while it runs wait and get the same value.
final class InFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private enum Joined { case lead, value(Value) }
    private let waiting = Mutex<[Key: [CheckedContinuation<Joined, Never>]]>([:])

    /// The number of keys with an operation running (for tests).
    var count: Int { waiting.withLock { $0.count } }

    /// The number of callers waiting on another's operation (for tests).
    var followers: Int { waiting.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    func run(_ key: Key, _ operation: () async -> Value) async -> Value {
        // The usual case, no operation running for `key`, leads without suspending.
        let leads = waiting.withLock { table in
            guard table[key] == nil else { return false }
            table[key] = []
            return true
        }
        if !leads {
            let joined = await withCheckedContinuation { (c: CheckedContinuation<Joined, Never>) in
                // The operation may have ended since the look above: then this caller leads a new one.
                // Election and registration happen under one lock, so no caller is lost.
                waiting.withLock { table in
                    if table[key] != nil { table[key]!.append(c) } else { table[key] = []; c.resume(returning: .lead) }
                }
            }
            if case .value(let v) = joined { return v }
        }
        let value = await operation()
        let followers = waiting.withLock { $0.removeValue(forKey: key) ?? [] }
        for f in followers { f.resume(returning: .value(value)) }
        return value
    }
}
