/// Protocol numbers are open sets: unknown values round-trip (STYLE §10).

/// A resource record type (RFC 1035 §3.2.2 and later).
public struct RRType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RRType(1), ns = RRType(2), cname = RRType(5), soa = RRType(6), ptr = RRType(12)
    public static let hinfo = RRType(13), mx = RRType(15), txt = RRType(16), aaaa = RRType(28), srv = RRType(33)
    public static let naptr = RRType(35), dname = RRType(39), opt = RRType(41), ds = RRType(43), rrsig = RRType(46)
    public static let nsec = RRType(47), dnskey = RRType(48), svcb = RRType(64), https = RRType(65)
    public static let tkey = RRType(249), tsig = RRType(250), ixfr = RRType(251), axfr = RRType(252)
    public static let mailb = RRType(253), maila = RRType(254), any = RRType(255)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
        35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS",
        249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY",
    ]

    /// `A`, `AAAA`, … or `TYPE<n>` (RFC 3597).
    public var description: String { RRType.names[rawValue] ?? "TYPE\(rawValue)" }

    /// Parses `A`, `aaaa`, `TYPE65`.
    public init?(name: String) {
        let upper = name.uppercased()
        if let hit = RRType.names.first(where: { $0.value == upper }) { self.init(hit.key); return }
        if upper.hasPrefix("TYPE"), let n = UInt16(upper.dropFirst(4)) { self.init(n); return }
        return nil
    }

    /// Types that only make sense in a query or a transfer (RFC 6895 §3.1): OPT, TKEY, TSIG, IXFR, AXFR, MAILA, MAILB.
    public var isMetaOrQueryOnly: Bool { (128...255).contains(rawValue) || rawValue == 41 || rawValue == 0 }
}

/// A resource record class.
public struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = RRClass(1), chaos = RRClass(3), hesiod = RRClass(4), none = RRClass(254), any = RRClass(255)
    public var description: String {
        switch rawValue { case 1: "IN"; case 3: "CH"; case 4: "HS"; case 254: "NONE"; case 255: "ANY"; default: "CLASS\(rawValue)" }
    }
}

/// A response code, including the EDNS extended bits (12 bits in all).
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let noError = RCode(0), formErr = RCode(1), servFail = RCode(2), nxDomain = RCode(3)
    public static let notImp = RCode(4), refused = RCode(5), badVers = RCode(16)
    /// RFC 2136 §2.2: the dynamic update's answers.
    public static let yxDomain = RCode(6), yxRRSet = RCode(7), nxRRSet = RCode(8), notAuth = RCode(9), notZone = RCode(10)
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"; case 1: "FORMERR"; case 2: "SERVFAIL"; case 3: "NXDOMAIN"; case 4: "NOTIMP"
        case 5: "REFUSED"; case 6: "YXDOMAIN"; case 7: "YXRRSET"; case 8: "NXRRSET"; case 9: "NOTAUTH"; case 10: "NOTZONE"
        case 16: "BADVERS"; default: "RCODE\(rawValue)"
        }
    }
    public init?(name: String) {
        for code in [RCode.noError, .formErr, .servFail, .nxDomain, .notImp, .refused, .badVers] where code.description == name.uppercased() {
            self = code; return
        }
        return nil
    }
}

/// A header opcode.
public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }
    public static let query = Opcode(0), iquery = Opcode(1), status = Opcode(2), notify = Opcode(4), update = Opcode(5)
    public var description: String {
        switch rawValue { case 0: "QUERY"; case 1: "IQUERY"; case 2: "STATUS"; case 4: "NOTIFY"; case 5: "UPDATE"; default: "OPCODE\(rawValue)" }
    }
}

/// Extended DNS Error info codes (RFC 8914) that fedns sets.
public struct EDECode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public static let other = EDECode(0), staleAnswer = EDECode(3), notReady = EDECode(14), blocked = EDECode(15)
    public static let prohibited = EDECode(18), notAuthoritative = EDECode(20), notSupported = EDECode(21)
    public static let noReachableAuthority = EDECode(22), networkError = EDECode(23)
}
