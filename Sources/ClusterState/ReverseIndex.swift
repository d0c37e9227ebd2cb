import NameExpansion

/// An IP address as integers, for the reverse index: 24 bytes against a String key's 16 plus the
/// hash-table bucket and the one-entry array each address would otherwise carry.
public struct IPKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address's bits, most significant first; an IPv4 address sits in the low 32 bits of `low`.
    var high: UInt64
    var low: UInt64
    /// Keeps `1.2.3.4` apart from `::1.2.3.4`, whose bits are the same.
    var isV4: Bool

    /// The key of address text in any form `IPAddress` reads; nil when it is not an address.
    public init?(_ text: String) {
        if let b = IPAddress.v4Bytes(text) {
            self.init(bytes: b, isV4: true)
        } else if let b = IPAddress.v6Bytes(text) {
            self.init(bytes: b, isV4: false)
        } else {
            return nil
        }
    }

    private init(bytes: [UInt8], isV4: Bool) {
        func word(_ range: Range<Int>) -> UInt64 { bytes[range].reduce(0) { $0 << 8 | UInt64($1) } }
        high = isV4 ? 0 : word(0..<8)
        low = isV4 ? word(0..<4) : word(8..<16)
        self.isV4 = isV4
    }

    /// The address's bytes: 4 or 16.
    var bytes: [UInt8] {
        if isV4 { return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * $0)) } }
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// Canonical text (IPv6 per RFC 5952), as the index's users and change keys spell addresses.
    public var description: String { IPAddress.text(bytes) ?? "" }

    public static func < (a: IPKey, b: IPKey) -> Bool {
        (a.isV4 ? 0 : 1, a.high, a.low) < (b.isV4 ? 0 : 1, b.high, b.low)
    }
}

/// Address → what it names, for PTR: ClusterIPs and published endpoint addresses.
///
/// Shards of sorted (address, entry) pairs, copied on write one at a time like `ShardedMap`'s:
/// nearly every address names one thing, and a hash table of arrays spent 130 bytes on each
/// (buckets rounded up to a power of two, a heap array per address); a pair here is 72 bytes.
/// An address's entries sit side by side in `ReverseEntry.order`.
public struct ReverseIndex: Sendable, Sequence {
    struct Slot: Sendable {
        var key: IPKey
        var entry: ReverseEntry
    }

    private var shards: [[Slot]]
    /// How many addresses name something.
    public private(set) var count = 0

    init(shardCount: Int = 128) {
        precondition(shardCount > 0)
        shards = Array(repeating: [], count: shardCount)
    }

    /// The index of `links`, each shard sorted once (a first install).
    init(_ links: [ClusterIndexes.ReverseLink], shardCount: Int = 128) {
        self.init(shardCount: shardCount)
        var unsorted = shards
        for link in links { unsorted[shard(of: link.key)].append(Slot(key: link.key, entry: link.entry)) }
        for (i, slots) in unsorted.enumerated() {
            var sorted: [Slot] = []
            sorted.reserveCapacity(slots.count)
            for slot in slots.sorted(by: Self.before) where sorted.last.map({ Self.before($0, slot) }) ?? true {
                if sorted.last?.key != slot.key { count += 1 }
                sorted.append(slot)
            }
            shards[i] = sorted
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Sequential addresses spread over the shards: the bits are mixed before the shard is picked.
    private func shard(of key: IPKey) -> Int {
        let mixed = (key.high &* 0x9E37_79B9_7F4A_7C15 ^ key.low) &* 0xBF58_476D_1CE4_E5B9
        return Int((mixed >> 32) % UInt64(shards.count))
    }

    private static func before(_ a: Slot, _ b: Slot) -> Bool {
        a.key != b.key ? a.key < b.key : ReverseEntry.order(a.entry, b.entry)
    }

    /// The first position in `slots` whose slot does not come before `isBefore`'s bound.
    private static func firstPosition(in slots: [Slot], where isBefore: (Slot) -> Bool) -> Int {
        var low = 0, high = slots.count
        while low < high {
            let mid = (low + high) / 2
            if isBefore(slots[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// What `key` names, in `ReverseEntry.order`; nil when nothing.
    public subscript(key: IPKey) -> [ReverseEntry]? {
        let slots = shards[shard(of: key)]
        var i = Self.firstPosition(in: slots) { $0.key < key }
        var entries: [ReverseEntry] = []
        while i < slots.count, slots[i].key == key { entries.append(slots[i].entry); i += 1 }
        return entries.isEmpty ? nil : entries
    }

    /// What the address `text` names; nil when nothing or when it is not an address.
    public subscript(text: String) -> [ReverseEntry]? {
        IPKey(text).flatMap { self[$0] }
    }

    /// Where `slot` goes in `slots`, whether it is there, and whether its key has another entry.
    /// A static function of the array, so that no second reference to a shard outlives the look
    /// (it would make the edit that follows copy the shard).
    private static func place(of slot: Slot, in slots: [Slot]) -> (index: Int, isPresent: Bool, keyHasOthers: Bool) {
        let i = firstPosition(in: slots) { before($0, slot) }
        let isPresent = i < slots.count && slots[i].key == slot.key && slots[i].entry == slot.entry
        let after = isPresent ? i + 1 : i
        let keyHasOthers = (i > 0 && slots[i - 1].key == slot.key) || (after < slots.count && slots[after].key == slot.key)
        return (i, isPresent, keyHasOthers)
    }

    /// Adds `entry` under `key` in its place (once).
    mutating func insert(_ entry: ReverseEntry, at key: IPKey) {
        let slot = Slot(key: key, entry: entry)
        let s = shard(of: key)
        let place = Self.place(of: slot, in: shards[s])
        guard !place.isPresent else { return }
        shards[s].insert(slot, at: place.index)
        if !place.keyHasOthers { count += 1 }
    }

    /// Removes `entry` from under `key`.
    mutating func remove(_ entry: ReverseEntry, at key: IPKey) {
        let s = shard(of: key)
        let place = Self.place(of: Slot(key: key, entry: entry), in: shards[s])
        guard place.isPresent else { return }
        shards[s].remove(at: place.index)
        if !place.keyHasOthers { count -= 1 }
    }

    /// Every address that names something, as canonical text.
    public var keys: [String] { map(\.address) }

    /// Each address with what it names, in no particular order.
    public func makeIterator() -> AnyIterator<(address: String, entries: [ReverseEntry])> {
        var slots = shards.joined().makeIterator()
        var next = slots.next()
        return AnyIterator {
            guard let first = next else { return nil }
            var entries = [first.entry]
            next = slots.next()
            while let slot = next, slot.key == first.key { entries.append(slot.entry); next = slots.next() }
            return (first.key.description, entries)
        }
    }
}
