import NameExpansion

/// Builders and readers for the rdata of the record types fedns makes itself.
/// Names in rdata are written uncompressed (the encoder may compress the ones RFC 3597 allows).
public enum RData {
    /// Uncompressed wire form of a name.
    public static func name(_ name: DomainName) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(name.wireLength)
        for label in name.labels {
            out.append(UInt8(label.utf8.count))
            out.append(contentsOf: label.utf8)
        }
        out.append(0)
        return out
    }

    /// Reads an uncompressed name at `offset`; returns it and the offset after it.
    public static func readName(_ bytes: [UInt8], at offset: Int = 0) -> (DomainName, Int)? {
        var labels: [String] = []
        var i = offset
        while i < bytes.count {
            let len = Int(bytes[i])
            if len == 0 { return (DomainName(labels: labels), i + 1) }
            guard len < 64, i + 1 + len <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[(i + 1)..<(i + 1 + len)], as: UTF8.self))
            i += 1 + len
        }
        return nil
    }

    /// A: four octets of a dotted-quad address.
    public static func a(_ address: String) -> [UInt8]? { IPAddress.v4Bytes(address) }
    /// AAAA: sixteen octets.
    public static func aaaa(_ address: String) -> [UInt8]? { IPAddress.v6Bytes(address) }

    public static func srv(priority: UInt16, weight: UInt16, port: UInt16, target: DomainName) -> [UInt8] {
        be16(priority) + be16(weight) + be16(port) + name(target)
    }

    /// TXT from strings of at most 255 octets each.
    public static func txt(_ strings: [String]) -> [UInt8] {
        strings.flatMap { s -> [UInt8] in let b = Array(s.utf8.prefix(255)); return [UInt8(b.count)] + b }
    }

    public static func soa(mname: DomainName, rname: DomainName, serial: UInt32, refresh: UInt32, retry: UInt32,
                           expire: UInt32, minimum: UInt32) -> [UInt8] {
        name(mname) + name(rname) + be32(serial) + be32(refresh) + be32(retry) + be32(expire) + be32(minimum)
    }

    /// The MINIMUM field of SOA rdata (RFC 2308 negative TTL).
    public static func soaMinimum(_ rdata: [UInt8]) -> UInt32? {
        guard let (_, afterM) = readName(rdata), let (_, afterR) = readName(rdata, at: afterM),
              afterR + 20 <= rdata.count else { return nil }
        let i = afterR + 16
        return UInt32(rdata[i]) << 24 | UInt32(rdata[i + 1]) << 16 | UInt32(rdata[i + 2]) << 8 | UInt32(rdata[i + 3])
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
}

extension ResourceRecord {
    /// The target of a CNAME, PTR or NS record.
    public var targetName: DomainName? {
        guard type == .cname || type == .ptr || type == .ns || type == .dname else { return nil }
        return RData.readName(rdata)?.0
    }
}

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
