#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON text that could not be read: the problem, its line, and the path of kept keys leading to it.
struct JSONSyntaxError: Error, Sendable {
    var problem: String
    var line: Int
    /// Keys (`spec`, `ports`) and indexes (`[0]`) from the innermost outwards, added while unwinding.
    var reversedPath: [String] = []

    /// `spec.ports[0].name`, or empty at the top.
    var path: String {
        var out = ""
        for part in reversedPath.reversed() {
            if part.hasPrefix("[") || out.isEmpty { out += part } else { out += "." + part }
        }
        return out
    }
}

/// A value kept from a JSON text: only what a ``KeepSchema`` asks for; the rest was skipped.
/// A kept container whose schema has no children is kept empty: its shape (mapping or list) is what
/// a reader checks.
struct JSONNode: Sendable {
    enum Value: Sendable {
        case null
        case bool(Bool)
        /// The number as written (`80`, `-1`, `1.5e3`); readers parse what they expect.
        case number(String)
        case string(String)
        case object([JSONMember])
        case array([JSONNode])
    }
    var value: Value
    var line: Int

    /// The member `key` (the last one, if the key is repeated); nil when absent or not an object.
    func member(_ key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        for m in members.reversed() where m.key == key { return m.node }
        return nil
    }

    var isNull: Bool { if case .null = value { true } else { false } }

    /// The text of a string value.
    var text: String? { if case .string(let s) = value { s } else { nil } }
}

struct JSONMember: Sendable {
    var key: String
    var node: JSONNode
}

/// Which parts of a JSON value to keep: the members named (each with its own schema) and the
/// elements of a list (with `element`). Everything else is skipped without allocating.
final class KeepSchema: Sendable {
    struct Member: Sendable {
        let key: String
        let bytes: [UInt8]
        let schema: KeepSchema
    }
    let members: [Member]
    let element: KeepSchema?
    /// Each member key's length and first eight bytes, to match a raw key without touching `members`.
    private let lengths: [Int]
    private let heads: [UInt64]

    init(_ members: KeyValuePairs<String, KeepSchema> = [:], element: KeepSchema? = nil) {
        self.members = members.map { Member(key: $0.key, bytes: Array($0.key.utf8), schema: $0.value) }
        self.element = element
        self.lengths = self.members.map(\.bytes.count)
        self.heads = self.members.map { $0.bytes.withUnsafeBytes(Self.head) }
    }

    /// A scalar, or a container kept empty.
    static let leaf = KeepSchema()

    private static func head(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var head: UInt64 = 0
        for i in 0..<min(8, raw.count) { head |= UInt64(raw[i]) << (8 * UInt64(i)) }
        return head
    }

    /// The member whose key is `raw` (a key's bytes without escapes).
    func member(_ raw: UnsafeRawBufferPointer) -> Member? {
        let head = Self.head(raw)
        let found: Int? = lengths.withUnsafeBufferPointer { lengths in
            heads.withUnsafeBufferPointer { heads in
                for i in 0..<lengths.count where lengths[i] == raw.count && heads[i] == head {
                    if raw.count <= 8 || members[i].bytes.withUnsafeBytes({ memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }) {
                        return i
                    }
                }
                return nil
            }
        }
        return found.map { members[$0] }
    }

    func member(_ key: String) -> Member? { members.first { $0.key == key } }
}

/// A pull reader over JSON bytes: values are read where a ``KeepSchema`` keeps them and skipped
/// (strings, numbers, nesting) without allocating everywhere else. Counts lines as it goes, for
/// error messages. Limits: `maxDepth` levels of nesting, `maxStringBytes` per kept string.
struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    /// The 1-based line of `position`.
    var line: Int

    static let maxDepth = 64
    static let maxStringBytes = 16 * 1024

    init(_ bytes: UnsafeRawBufferPointer, line: Int = 1) {
        self.bytes = bytes; self.position = 0; self.line = line
    }

    var atEnd: Bool { position >= bytes.count }

    func fail(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(problem: problem, line: line) }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0D: position += 1
            case 0x0A: position += 1; line += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace, not consumed.
    @inline(__always)
    mutating func peek() throws(JSONSyntaxError) -> UInt8 {
        if position < bytes.count, bytes[position] > 0x20 { return bytes[position] }
        skipSpace()
        guard position < bytes.count else { throw fail("unexpected end of the text") }
        return bytes[position]
    }

    mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        let b = try peek()
        guard b == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))', found \(Self.shown(b))") }
        position += 1
    }

    static func shown(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte \(b)"
    }

    /// Whether only whitespace is left.
    mutating func isAtEndOfText() -> Bool { skipSpace(); return atEnd }

    // MARK: strings

    /// Reads a string token (at its opening quote): the bounds of its content and whether it has escapes.
    mutating func scanString() throws(JSONSyntaxError) -> (start: Int, end: Int, escaped: Bool) {
        position += 1
        let start = position
        var escaped = false
        let n = bytes.count
        while true {
            position = Self.skipPlainStringBytes(bytes, from: position)
            guard position < n else { throw fail("unterminated string") }
            let b = bytes[position]
            if b == 0x22 {
                position += 1
                return (start, position - 1, escaped)
            } else if b == 0x5C {
                escaped = true
                position += 2
            } else if b < 0x20 {
                throw fail("a control character (byte \(b)) inside a string")
            } else {
                position += 1
            }
        }
    }

    /// The first index from `i` of a byte that ends or interrupts a run of plain string bytes (a
    /// quote, a backslash, a control character), eight bytes at a time; `bytes.count` if none.
    @inline(__always)
    static func skipPlainStringBytes(_ bytes: UnsafeRawBufferPointer, from i: Int) -> Int {
        var i = i
        let n = bytes.count
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                // A byte is zero in `quote`/`backslash`, or below 0x20 in `w` (the "has less" bit trick).
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)
                if special & highs != 0 { break }
                i += 8
            }
        }
        while i < n {
            let b = bytes[i]
            if b == 0x22 || b == 0x5C || b < 0x20 { return i }
            i += 1
        }
        return n
    }

    /// The text of a scanned string, unescaped; it must be UTF-8.
    func makeString(_ s: (start: Int, end: Int, escaped: Bool)) throws(JSONSyntaxError) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[s.start..<s.end])
        if !s.escaped {
            // ASCII needs no validation (the common case: names, IPs, labels).
            if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            guard let text = String(validating: raw, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
            return text
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var v: UInt32 = 0
            for k in at..<(at + 4) {
                let c = raw[k]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < raw.count {
            let b = raw[i]
            guard b == 0x5C else { out.append(b); i += 1; continue }
            guard i + 1 < raw.count else { throw fail("a string ends inside an escape") }
            let e = raw[i + 1]
            i += 2
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                guard var scalar = hex4(i) else { throw fail("a \\u escape needs four hex digits") }
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate: with a following low one it is one character, else U+FFFD.
                    if i + 1 < raw.count, raw[i] == 0x5C, raw[i + 1] == 0x75, let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default:
                throw fail("unknown escape '\\\(Character(Unicode.Scalar(e)))' in a string")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return text
    }

    /// The string at the reader (after whitespace).
    mutating func readString() throws(JSONSyntaxError) -> String {
        guard try peek() == 0x22 else { throw fail("expected a string, found \(Self.shown(bytes[position]))") }
        let s = try scanString()
        guard s.end - s.start <= Self.maxStringBytes else { throw fail("a string longer than \(Self.maxStringBytes) bytes") }
        return try makeString(s)
    }

    // MARK: scalars

    static func isScalarByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x2D || b == 0x2B || b == 0x2E
    }

    /// A number or `true`/`false`/`null`, at the reader.
    mutating func readBareScalar() throws(JSONSyntaxError) -> JSONNode.Value {
        let start = position
        while position < bytes.count, Self.isScalarByte(bytes[position]) { position += 1 }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
        guard let first = raw.first else { throw fail("expected a value, found \(Self.shown(bytes[start]))") }
        switch first {
        case 0x2D, 0x30...0x39:
            guard raw.count <= 64, Self.isNumber(raw) else { throw fail("not a number: '\(String(decoding: raw.prefix(64), as: UTF8.self))'") }
            return .number(String(decoding: raw, as: UTF8.self))
        default:
            if raw.elementsEqual("true".utf8) { return .bool(true) }
            if raw.elementsEqual("false".utf8) { return .bool(false) }
            if raw.elementsEqual("null".utf8) { return .null }
            throw fail("expected a value, found '\(String(decoding: raw.prefix(32), as: UTF8.self))'")
        }
    }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isNumber(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = raw.count
        func digits() -> Int { let s = i; while i < n, raw[i] >= 0x30, raw[i] <= 0x39 { i += 1 }; return i - s }
        if i < n, raw[i] == 0x2D { i += 1 }
        guard i < n else { return false }
        if raw[i] == 0x30 { i += 1 } else if digits() == 0 { return false }
        if i < n, raw[i] == 0x2E { i += 1; if digits() == 0 { return false } }
        if i < n, raw[i] == 0x65 || raw[i] == 0x45 {
            i += 1
            if i < n, raw[i] == 0x2B || raw[i] == 0x2D { i += 1 }
            if digits() == 0 { return false }
        }
        return i == n
    }

    // MARK: skipping and keeping

    /// Skips one value, nested `depth` levels already, without allocating.
    mutating func skipValue(depth: Int) throws(JSONSyntaxError) {
        // Each open container is one bit: 1 for a list, 0 for a mapping (maxDepth ≤ 64).
        var open: UInt64 = 0
        var level = 0
        repeat {
            let b = try peek()
            switch b {
            case 0x7B, 0x5B:
                guard depth + level < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
                open = open << 1 | (b == 0x5B ? 1 : 0)
                level += 1
                position += 1
            case 0x7D, 0x5D:
                guard level > 0, (open & 1 == 1) == (b == 0x5D) else { throw fail("unexpected \(Self.shown(b))") }
                open >>= 1
                level -= 1
                position += 1
            case 0x22:
                _ = try scanString()
            case 0x2C, 0x3A:
                guard level > 0 else { throw fail("expected a value, found \(Self.shown(b))") }
                position += 1
            default:
                _ = try readBareScalarSkipping()
            }
        } while level > 0
    }

    /// Skips a number or literal, checking only that it is made of scalar bytes.
    private mutating func readBareScalarSkipping() throws(JSONSyntaxError) {
        let start = position
        while position < bytes.count, Self.isScalarByte(bytes[position]) { position += 1 }
        guard position > start else { throw fail("expected a value, found \(Self.shown(bytes[start]))") }
    }

    /// Reads one value, keeping what `schema` names; nested `depth` levels already.
    mutating func keep(_ schema: KeepSchema, depth: Int = 0) throws(JSONSyntaxError) -> JSONNode {
        let b = try peek()
        let line = self.line
        switch b {
        case 0x7B:
            guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            position += 1
            var members: [JSONMember] = []
            members.reserveCapacity(schema.members.count)
            if try peek() == 0x7D { position += 1; return JSONNode(value: .object(members), line: line) }
            while true {
                guard try peek() == 0x22 else { throw fail("expected a key, found \(Self.shown(bytes[position]))") }
                let key = try scanString()
                try expect(0x3A)
                let kept: KeepSchema.Member?
                if key.escaped {
                    kept = schema.member(try makeString(key))
                } else {
                    kept = schema.members.isEmpty ? nil : schema.member(UnsafeRawBufferPointer(rebasing: bytes[key.start..<key.end]))
                }
                if let kept {
                    do {
                        members.append(JSONMember(key: kept.key, node: try keep(kept.schema, depth: depth + 1)))
                    } catch {
                        var error = error
                        error.reversedPath.append(kept.key)
                        throw error
                    }
                } else {
                    try skipValue(depth: depth + 1)
                }
                let next = try peek()
                position += 1
                if next == 0x7D { return JSONNode(value: .object(members), line: line) }
                guard next == 0x2C else { throw fail("expected ',' or '}', found \(Self.shown(next))") }
            }
        case 0x5B:
            guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            position += 1
            var elements: [JSONNode] = []
            if try peek() == 0x5D { position += 1; return JSONNode(value: .array(elements), line: line) }
            while true {
                if let element = schema.element {
                    do {
                        elements.append(try keep(element, depth: depth + 1))
                    } catch {
                        var error = error
                        error.reversedPath.append("[\(elements.count)]")
                        throw error
                    }
                } else {
                    try skipValue(depth: depth + 1)
                }
                let next = try peek()
                position += 1
                if next == 0x5D { return JSONNode(value: .array(elements), line: line) }
                guard next == 0x2C else { throw fail("expected ',' or ']', found \(Self.shown(next))") }
            }
        case 0x22:
            return JSONNode(value: .string(try readString()), line: line)
        default:
            return JSONNode(value: try readBareScalar(), line: line)
        }
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` keeping the body's error type (the standard one rethrows `any Error`).
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes { bytes in Result { () throws(E) in try body(bytes) } }
        return try result.get()
    }
}
