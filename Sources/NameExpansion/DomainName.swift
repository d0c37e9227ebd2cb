/// A domain name as a list of labels. Labels keep the case they arrived with; equality and hashing
/// are case-insensitive (ASCII only, RFC 4343), so a `DomainName` can key a dictionary directly.
///
/// Labels are octets (RFC 2181 §11) held as Swift strings: ASCII octets as themselves, any other
/// octet as the Unicode scalar of the same value (`label(wireBytes:)`, `wireBytes(of:)`), so every
/// label round-trips byte for byte, UTF-8 or not; text shows such octets as `\DDD`.
public struct DomainName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// Labels from left to right, without the empty root label.
    public let labels: [String]
    /// Lower-cased labels, computed once; the basis of equality and hashing.
    public let lowercasedLabels: [String]

    public static let root = DomainName(labels: [])

    public init(labels: [String]) {
        self.labels = labels
        // Most names arrive lower-cased: then both share one array.
        self.lowercasedLabels = labels.contains(where: \.hasASCIIUppercase) ? labels.map(\.asciiLowercased) : labels
    }

    /// Parses presentation form (`a.b.c` or `a.b.c.`), always as an absolute name. `\.` and `\DDD`
    /// escapes are honoured; `.` and the empty string are the root. Throws on an empty label
    /// (`a..b`, `.a`), a label over 63 octets, a name over 255 octets in wire form, or a bad escape.
    public init(_ text: String) throws(NameError) {
        self.init(labels: try DomainName.splitLabels(text))
    }

    public var isRoot: Bool { labels.isEmpty }
    public var labelCount: Int { labels.count }

    /// The name with every label lower-cased.
    public var lowercased: DomainName { DomainName(labels: lowercasedLabels) }

    /// Presentation form with a trailing dot (`.` for the root).
    public var description: String {
        if labels.isEmpty { return "." }
        return labels.map(DomainName.escape).joined(separator: ".") + "."
    }

    /// Presentation form without the trailing dot (what a person types).
    public var relativeDescription: String {
        labels.map(DomainName.escape).joined(separator: ".")
    }

    /// True when `self` equals `other` or lies below it.
    public func isSubdomain(of other: DomainName) -> Bool {
        guard other.lowercasedLabels.count <= lowercasedLabels.count else { return false }
        return lowercasedLabels.suffix(other.lowercasedLabels.count).elementsEqual(other.lowercasedLabels)
    }

    /// The labels of `self` in front of `suffix`, or nil when `self` is not below `suffix`.
    public func labels(before suffix: DomainName) -> [String]? {
        guard isSubdomain(of: suffix) else { return nil }
        return Array(labels.prefix(labels.count - suffix.labels.count))
    }

    /// `prefix` labels prepended to `self`.
    public func prepending(_ prefix: [String]) -> DomainName { DomainName(labels: prefix + labels) }

    /// `self` followed by `suffix`.
    public func appending(_ suffix: DomainName) -> DomainName { DomainName(labels: labels + suffix.labels) }

    /// The name with the first `count` labels removed.
    public func dropping(first count: Int) -> DomainName { DomainName(labels: Array(labels.dropFirst(count))) }

    /// Length of the uncompressed wire form (RFC 1035: at most 255).
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + DomainName.wireLength(of: $1) } }

    /// A label from its wire octets, losslessly. A label is octets, not text (RFC 2181 §11): ASCII
    /// octets stay themselves and any other octet becomes the Unicode scalar of the same value
    /// (ISO 8859-1), so `wireBytes(of:)` gives back exactly the octets that arrived.
    @inlinable
    public static func label(wireBytes bytes: some Collection<UInt8>) -> String {
        if let ascii = bytes.withContiguousStorageIfAvailable({ octets in
            for b in octets where b >= 0x80 { return false }
            return true
        }), ascii {
            return String(decoding: bytes, as: UTF8.self)
        }
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// The wire octets of a label made by `label(wireBytes:)` or parsed from text.
    public static func wireBytes(of label: String) -> [UInt8] {
        if label.utf8.allSatisfy({ $0 < 0x80 }) { return Array(label.utf8) }
        return label.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }

    /// Appends the uncompressed wire form (length-prefixed labels, then the root's 0) to `bytes`.
    public func appendWire(to bytes: inout [UInt8]) {
        for label in labels {
            let lengthAt = bytes.count
            bytes.append(0)
            if label.isASCII {
                label.withOctets { bytes.append(contentsOf: $0) }
            } else {
                for scalar in label.unicodeScalars { bytes.append(UInt8(truncatingIfNeeded: scalar.value)) }
            }
            bytes[lengthAt] = UInt8(truncatingIfNeeded: bytes.count - lengthAt - 1)
        }
        bytes.append(0)
    }

    static func wireLength(of label: String) -> Int {
        label.isASCII ? label.utf8.count : label.unicodeScalars.count
    }

    /// Labels are octets (RFC 2181 §11), so names compare octet by octet (after ASCII lower-casing),
    /// not as Unicode text; hashing the same octets as one run is also a fraction of `String`'s cost.
    public static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        guard lhs.lowercasedLabels.count == rhs.lowercasedLabels.count else { return false }
        for i in lhs.lowercasedLabels.indices {
            let same = lhs.lowercasedLabels[i].withOctets { l in
                rhs.lowercasedLabels[i].withOctets { r in l.elementsEqual(r) }
            }
            guard same else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(lowercasedLabels.count)
        for label in lowercasedLabels {
            label.withOctets { bytes in
                hasher.combine(bytes.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
            }
        }
    }

    /// Canonical DNS order (RFC 4034 §6.1) on the lower-cased labels, right to left.
    public static func < (lhs: DomainName, rhs: DomainName) -> Bool {
        let l = lhs.lowercasedLabels.reversed().map(wireBytes(of:)), r = rhs.lowercasedLabels.reversed().map(wireBytes(of:))
        for (a, b) in zip(l, r) where a != b {
            return a.lexicographicallyPrecedes(b)
        }
        return l.count < r.count
    }

    static func escape(_ label: String) -> String {
        var out = ""
        for byte in wireBytes(of: label) {
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"),
                 UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                out.append("\\"); out.append(Character(UnicodeScalar(byte)))
            case 0x21...0x7E:
                out.append(Character(UnicodeScalar(byte)))
            default:
                out.append("\\" + String(format3: Int(byte)))
            }
        }
        return out
    }

    static func splitLabels(_ text: String) throws(NameError) -> [String] {
        if text == "." || text.isEmpty { return [] }
        var labels: [String] = []
        var current: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        var sawDot = false
        while let byte = bytes.popFirst() {
            sawDot = false
            if byte == UInt8(ascii: "\\") {
                guard let next = bytes.popFirst() else { throw .badEscape(text) }
                if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                    guard bytes.count >= 2, let d2 = bytes.popFirst(), let d3 = bytes.popFirst(),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d2),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d3) else { throw .badEscape(text) }
                    let value = Int(next - 48) * 100 + Int(d2 - 48) * 10 + Int(d3 - 48)
                    guard value <= 255 else { throw .badEscape(text) }
                    current.append(UInt8(value))
                } else {
                    current.append(next)
                }
            } else if byte == UInt8(ascii: ".") {
                guard !current.isEmpty else { throw .emptyLabel(text) }
                guard current.count <= 63 else { throw .labelTooLong(text) }
                labels.append(label(wireBytes: current))
                current.removeAll(keepingCapacity: true)
                sawDot = true
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty {
            guard current.count <= 63 else { throw .labelTooLong(text) }
            labels.append(label(wireBytes: current))
        } else if !sawDot {
            throw .emptyLabel(text)
        }
        let name = DomainName(labels: labels)
        guard name.wireLength <= 255 else { throw .nameTooLong(text) }
        return labels
    }
}

/// Why a name could not be parsed.
public enum NameError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyLabel(String)
    case labelTooLong(String)
    case nameTooLong(String)
    case badEscape(String)

    public var description: String {
        switch self {
        case .emptyLabel(let t): return "name '\(t)' has an empty label"
        case .labelTooLong(let t): return "name '\(t)' has a label longer than 63 octets"
        case .nameTooLong(let t): return "name '\(t)' is longer than 255 octets"
        case .badEscape(let t): return "name '\(t)' has a malformed escape"
        }
    }
}

extension String {
    /// `body` applied to the UTF-8 octets, in place when the string stores them contiguously (every
    /// label does): iterating `utf8` an octet at a time costs several times more on the query path.
    @inline(__always)
    func withOctets<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return copy.withUTF8(body)
    }

    /// True when some octet is an ASCII capital letter.
    var hasASCIIUppercase: Bool {
        withOctets { octets in
            for b in octets where b &- 65 < 26 { return true }
            return false
        }
    }

    /// True when every octet is ASCII (a label made only of octets below 0x80).
    var isASCII: Bool {
        withOctets { octets in
            for b in octets where b >= 0x80 { return false }
            return true
        }
    }

    /// ASCII-only lower-casing (DNS names compare case-insensitively in ASCII only, RFC 4343).
    public var asciiLowercased: String {
        if !hasASCIIUppercase { return self }
        return String(decoding: utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    init(format3 value: Int) {
        let s = String(value)
        self = String(repeating: "0", count: 3 - s.count) + s
    }
}
