/// IP address text ↔ bytes, without Foundation.
public enum IPAddress {
    public static func v4Bytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

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
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
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

    /// Text form of 4 or 16 address bytes (IPv6 per RFC 5952).
    public static func text(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return nil }
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
        if let b = v4Bytes(text) { return self.text(b) }
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
