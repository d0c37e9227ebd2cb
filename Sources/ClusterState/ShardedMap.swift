/// A dictionary split into shards that are copied on write one at a time.
///
/// Snapshots share their indexes with their successor: a change to one key copies the shard that
/// holds it (a few hundred entries at 10,000 Services), not the whole index, and every other shard
/// stays shared between the two snapshots.
public struct ShardedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable, Sequence {
    private var shards: [[Key: Value]]
    public private(set) var count: Int = 0

    /// - Parameter shardCount: how many shards; a change copies about `count / shardCount` entries.
    public init(shardCount: Int = 128) {
        precondition(shardCount > 0)
        shards = Array(repeating: [:], count: shardCount)
    }

    private func shard(of key: Key) -> Int {
        Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))
    }

    public var isEmpty: Bool { count == 0 }

    public subscript(key: Key) -> Value? {
        get { shards[shard(of: key)][key] }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    /// The value for `key`, edited in place; a missing key starts as `defaultValue`.
    public subscript(key: Key, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[key] ?? defaultValue() }
        _modify {
            let i = shard(of: key)
            if shards[i][key] == nil { count += 1 }
            yield &shards[i][key, default: defaultValue()]
        }
    }

    /// Sets `value` for `key`; returns the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: Value, forKey key: Key) -> Value? {
        let old = shards[shard(of: key)].updateValue(value, forKey: key)
        if old == nil { count += 1 }
        return old
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        let old = shards[shard(of: key)].removeValue(forKey: key)
        if old != nil { count -= 1 }
        return old
    }

    public var keys: [Key] { shards.flatMap(\.keys) }
    public var values: [Value] { shards.flatMap(\.values) }

    public func makeIterator() -> FlattenSequence<[[Key: Value]]>.Iterator {
        shards.joined().makeIterator()
    }
}
