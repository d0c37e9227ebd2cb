import NameExpansion

/// Builders and readers for the rdata of the record types fedns makes itself.
/// Names in rdata are written uncompressed (the encoder may compress the ones RFC 3597 allows).
public enum RData {
    /// Uncompressed wire form of a name.
    public static func name(_ name: DomainName) -> [UInt8] {
        var out: [UInt8] = []
        // An upper bound (an octet of 0x80 or more takes two UTF-8 bytes), read without a pass over the labels.
        out.reserveCapacity(name.labels.reduce(1) { $0 + 1 + $1.utf8.count })
        name.appendWire(to: &out)
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
            labels.append(DomainName.label(wireBytes: bytes[(i + 1)..<(i + 1 + len)]))
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

