import NameExpansion

/// The fixed header of a DNS message (RFC 1035 §4.1.1).
///
/// ```text
///  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
/// |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
/// ```
public struct Header: Hashable, Sendable {
    public var id: UInt16 = 0
    public var isResponse = false
    public var opcode: Opcode = .query
    public var authoritative = false
    public var truncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var authenticData = false
    public var checkingDisabled = false
    /// The full 12-bit code; the upper 8 bits travel in the OPT record.
    public var rcode: RCode = .noError
    public init() {}

    /// The set flags as `dig` names them, in header order (`qr aa tc rd ra ad cd`).
    public var flagNames: [String] {
        [(isResponse, "qr"), (authoritative, "aa"), (truncated, "tc"), (recursionDesired, "rd"),
         (recursionAvailable, "ra"), (authenticData, "ad"), (checkingDisabled, "cd")].filter(\.0).map(\.1)
    }
}

/// One question.
public struct Question: Hashable, Sendable, CustomStringConvertible {
    public var name: DomainName
    public var type: RRType
    public var `class`: RRClass
    public init(name: DomainName, type: RRType, class: RRClass = .in) {
        self.name = name; self.type = type; self.class = `class`
    }
    public var description: String { "\(name) \(`class`) \(type)" }
}

/// A resource record. `rdata` is the uncompressed wire form, so every type round-trips;
/// typed accessors read the common ones.
public struct ResourceRecord: Hashable, Sendable {
    public var name: DomainName
    public var type: RRType
    public var `class`: RRClass
    public var ttl: UInt32
    public var rdata: [UInt8]
    public init(name: DomainName, type: RRType, class: RRClass = .in, ttl: UInt32, rdata: [UInt8]) {
        self.name = name; self.type = type; self.class = `class`; self.ttl = ttl; self.rdata = rdata
    }
}

/// One EDNS option (RFC 6891 §6.1.2).
public struct EDNSOption: Hashable, Sendable {
    public var code: UInt16
    public var data: [UInt8]
    public init(code: UInt16, data: [UInt8]) { self.code = code; self.data = data }
    public static let edeCode: UInt16 = 15

    /// An Extended DNS Error option (RFC 8914).
    public static func extendedError(_ code: EDECode, text: String = "") -> EDNSOption {
        EDNSOption(code: edeCode, data: [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xff)] + Array(text.utf8))
    }
    /// The EDE info code, when this is an EDE option.
    public var extendedErrorCode: EDECode? {
        guard code == EDNSOption.edeCode, data.count >= 2 else { return nil }
        return EDECode(UInt16(data[0]) << 8 | UInt16(data[1]))
    }
}

/// The OPT pseudo-record's contents (RFC 6891).
public struct EDNS: Hashable, Sendable {
    public var udpPayloadSize: UInt16 = 1232
    public var version: UInt8 = 0
    public var dnssecOK = false
    public var options: [EDNSOption] = []
    public init(udpPayloadSize: UInt16 = 1232, version: UInt8 = 0, dnssecOK: Bool = false, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize; self.version = version; self.dnssecOK = dnssecOK; self.options = options
    }
    /// The first Extended DNS Error code present.
    public var extendedError: EDECode? { options.lazy.compactMap(\.extendedErrorCode).first }
}

/// A whole DNS message. The OPT record is lifted into `edns` and never appears in `additional`.
public struct Message: Hashable, Sendable {
    public var header = Header()
    public var questions: [Question] = []
    public var answer: [ResourceRecord] = []
    public var authority: [ResourceRecord] = []
    public var additional: [ResourceRecord] = []
    public var edns: EDNS?
    public init() {}

    public var question: Question? { questions.first }

    /// A query for one name.
    public static func query(id: UInt16, name: DomainName, type: RRType, class: RRClass = .in,
                             recursionDesired: Bool = true, edns: EDNS? = EDNS()) -> Message {
        var m = Message()
        m.header.id = id
        m.header.recursionDesired = recursionDesired
        m.questions = [Question(name: name, type: type, class: `class`)]
        m.edns = edns
        return m
    }

    /// The skeleton of a response to `query`: same ID, question (byte for byte), RD and CD;
    /// OPT only when the query had one (payload 1232, DO copied).
    public static func response(to query: Message, rcode: RCode = .noError) -> Message {
        var m = Message()
        m.header.id = query.header.id
        m.header.isResponse = true
        m.header.opcode = query.header.opcode
        m.header.recursionDesired = query.header.recursionDesired
        m.header.checkingDisabled = query.header.checkingDisabled
        m.header.recursionAvailable = true
        m.header.rcode = rcode
        m.questions = query.questions
        if let e = query.edns { m.edns = EDNS(udpPayloadSize: 1232, version: 0, dnssecOK: e.dnssecOK) }
        return m
    }

    /// Adds an Extended DNS Error when the query used EDNS (no OPT is invented otherwise).
    public mutating func addExtendedError(_ code: EDECode, text: String = "") {
        guard edns != nil else { return }
        edns!.options.append(.extendedError(code, text: text))
    }
}
