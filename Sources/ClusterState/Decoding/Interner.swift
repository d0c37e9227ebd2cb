import Synchronization

/// Strings shared between objects (namespaces, node names, port names/protocols, label values): one
/// copy of each however many objects name it. Strings of up to 15 UTF-8 bytes are stored inline in
/// the `String` itself and are passed through. At most `capacity` strings are kept; past that, new
/// ones are passed through too, so a stream of ever-new names cannot grow it without bound. An
/// interner never forgets: a source that lives for days should start a new one with each full
/// relist, so that names no longer in the cluster are dropped with the old snapshot.
public final class Interner: @unchecked Sendable {
    private let strings = Mutex(Set<String>())
    public let capacity: Int

    public init() { capacity = 1 << 16 }

    public init(capacity: Int) { self.capacity = capacity }

    /// The one shared copy of `s` (equal to it).
    public func intern(_ s: String) -> String {
        if s.utf8.count <= 15 { return s }
        return strings.withLock { set in
            if set.count < capacity { return set.insert(s).memberAfterInsert }
            if let index = set.firstIndex(of: s) { return set[index] }
            return s
        }
    }

    /// How many strings are shared.
    public var count: Int { strings.withLock { $0.count } }
}
