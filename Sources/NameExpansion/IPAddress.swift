/// IP address text ↔ bytes, without Foundation.
public enum IPAddress {
    /// The 4 bytes of a dotted-quad IPv4 address, as `inet_pton` reads it: exactly four decimal
    /// octets, no signs, no leading zeros (`010` could mean octal to `inet_aton`).
    public static func v4Bytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(4)
        var value = 0, digits = 0, leadingZero = false
        for b in text.utf8 {
            if b == UInt8(ascii: ".") {
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                value = 0; digits = 0
            } else {
                guard isDecimalDigit(b), digits < 3, !(leadingZero && digits > 0) else { return nil }
                if digits == 0 { leadingZero = b == UInt8(ascii: "0") }
                value = value * 10 + Int(b - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return nil }
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }

    /// The 16 bytes of an IPv6 address in RFC 4291 §2.2 text (`::` once, an optional dotted-quad
    /// tail); no zone index.
    public static func v6Bytes(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        var tailV4: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = v4Bytes(String(text[text.index(after: lastColon)...])) else { return nil }
            tailV4 = v4
            text = text[...lastColon] + "0:0"
        }
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return nil }
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                // `UInt16(_:radix:)` alone would also take a sign: `+f`.
                guard (1...4).contains(g.utf8.count), g.utf8.allSatisfy(isHexDigit), let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        var bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        if !tailV4.isEmpty { bytes.replaceSubrange(12..<16, with: tailV4) }
        return bytes
    }

    /// Text form of 4 or 16 address bytes (IPv6 per RFC 5952: lower-case hex, no leading zeros,
    /// the longest run of two or more zero groups as `::`, the first on a tie, and IPv4-mapped
    /// addresses as `::ffff:a.b.c.d` per §5).
    public static func text(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return "::ffff:" + bytes[12...].map(String.init).joined(separator: ".")
        }
        let groups = (0..<8).map { UInt16(bytes[$0 * 2]) << 8 | UInt16(bytes[$0 * 2 + 1]) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }
}

private func isDecimalDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

private func isHexDigit(_ byte: UInt8) -> Bool {
    isDecimalDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
}

extension Substring {
    fileprivate func components(separatedByDoubleColon: ()) -> [Substring] {
        var out: [Substring] = []
        var rest = self[...]
        while let r = rest.firstRange(of: "::") {
            out.append(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        out.append(rest)
        return out
    }
}

extension IPAddress {
    /// The canonical text of an address (IPv6 per RFC 5952), or nil when `text` is not an address.
    public static func canonical(_ text: String) -> String? {
        // The only IPv4 text v4Bytes takes is already canonical.
        if v4Bytes(text) != nil { return text }
        if let b = v6Bytes(text) { return self.text(b) }
        return nil
    }

    /// The address as a dashed label: `10-0-0-1`, `fd00--1` (colons become dashes).
    public static func dashed(_ text: String) -> String {
        String(text.map { $0 == "." || $0 == ":" ? "-" : $0 })
    }
}

/// Reverse-mapping names (`in-addr.arpa`, `ip6.arpa`).
public enum ReverseName {
    public static let inAddrArpa = DomainName(labels: ["in-addr", "arpa"])
    public static let ip6Arpa = DomainName(labels: ["ip6", "arpa"])

    /// The address a full reverse name stands for (canonical text), or nil when `name` is not one.
    public static func address(from name: DomainName) -> String? {
        if let rel = name.labels(before: inAddrArpa) {
            guard rel.count == 4 else { return nil }
            return IPAddress.canonical(rel.reversed().joined(separator: "."))
        }
        if let rel = name.lowercased.labels(before: ip6Arpa) {
            guard rel.count == 32, rel.allSatisfy({ $0.count == 1 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
            let nibbles = rel.reversed().joined()
            var groups: [String] = []
            var i = nibbles.startIndex
            while i < nibbles.endIndex {
                let j = nibbles.index(i, offsetBy: 4)
                groups.append(String(nibbles[i..<j])); i = j
            }
            return IPAddress.canonical(groups.joined(separator: ":"))
        }
        return nil
    }

    /// True for names at or below `in-addr.arpa` or `ip6.arpa`.
    public static func isReverse(_ name: DomainName) -> Bool {
        name.isSubdomain(of: inAddrArpa) || name.isSubdomain(of: ip6Arpa)
    }

    /// The reverse name of an address.
    public static func name(for address: String) -> DomainName? {
        if let b = IPAddress.v4Bytes(address) {
            return inAddrArpa.prepending(b.reversed().map(String.init))
        }
        if let b = IPAddress.v6Bytes(address) {
            let nibbles = b.flatMap { [String($0 >> 4, radix: 16), String($0 & 0xf, radix: 16)] }
            return ip6Arpa.prepending(nibbles.reversed())
        }
        return nil
    }
}

/// An IP address and a port, as `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address.
public struct AddressAndPort: Hashable, Sendable, CustomStringConvertible {
    /// Canonical address text (`10.0.0.10`, `fd00::10`).
    public let host: String
    public let port: UInt16

    public init?(host: String, port: UInt16) {
        guard let canonical = IPAddress.canonical(host) else { return nil }
        self.host = canonical
        self.port = port
    }

    /// Why `text` is not an address with an optional port, or the parsed value.
    public static func parse(_ text: String, defaultPort: UInt16 = 53) -> Result<AddressAndPort, AddressAndPortError> {
        var host = Substring(text)
        var port = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return .failure(.init(text: text, reason: "missing ']'")) }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else { return .failure(.init(text: text, reason: "bad port")) }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            // Exactly one colon: IPv4 with a port; IPv6 has at least two.
            guard let p = UInt16(host[host.index(after: colon)...]) else { return .failure(.init(text: text, reason: "bad port")) }
            port = p
            host = host[..<colon]
        }
        guard let value = AddressAndPort(host: String(host), port: port) else {
            return .failure(.init(text: text, reason: "not an IP address"))
        }
        return .success(value)
    }

    public var isIPv6: Bool { host.contains(":") }

    /// `10.0.0.10:53`, `[fd00::10]:53`.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why text is not an address with an optional port.
public struct AddressAndPortError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "'\(text)': \(reason)" }
}
