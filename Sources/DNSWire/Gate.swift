/// What the gate learned about a query without a full parse: offsets into the packet and the
/// fields the fast path needs (DESIGN §5).
public struct QueryView: Sendable, Equatable {
    public var id: UInt16
    public var opcode: Opcode
    public var recursionDesired: Bool
    public var checkingDisabled: Bool
    /// Bytes 12..<questionEnd are the question (name, type, class) as the client sent it.
    public var questionEnd: Int
    public var qtype: RRType
    public var qclass: RRClass
    /// The question name in wire form, ASCII lower-cased: the fast-path key.
    public var lowercasedWireName: [UInt8]
    /// The query's OPT record, when it had one.
    public var edns: EDNS?
    public init(id: UInt16, opcode: Opcode, recursionDesired: Bool, checkingDisabled: Bool, questionEnd: Int,
                qtype: RRType, qclass: RRClass, lowercasedWireName: [UInt8], edns: EDNS?) {
        self.id = id; self.opcode = opcode; self.recursionDesired = recursionDesired
        self.checkingDisabled = checkingDisabled; self.questionEnd = questionEnd; self.qtype = qtype
        self.qclass = qclass; self.lowercasedWireName = lowercasedWireName; self.edns = edns
    }
    /// The largest UDP answer this client accepts: min(its payload, 1232), at least 512; 512 without EDNS.
    public var udpLimit: Int {
        guard let e = edns else { return 512 }
        return max(512, min(Int(e.udpPayloadSize), 1232))
    }
}

/// Why a packet was dropped without an answer.
public enum DropReason: String, Sendable, CaseIterable {
    case tooShort = "too_short"
    case isResponse = "response"
}

/// The gate's decision on one packet (DESIGN §5).
public enum GateVerdict: Sendable, Equatable {
    /// Drop silently (counted).
    case drop(DropReason)
    /// Answer with these bytes (FORMERR, NOTIMP, REFUSED, BADVERS…); `rcode` is for metrics.
    case reply([UInt8], rcode: RCode)
    /// A well-formed query to resolve.
    case pass(QueryView)
}

/// The checks every packet passes before any parsing (DESIGN §5).
public enum Gate {
    /// - Parameter identityNames: when true, CH TXT `id.server.` and `hostname.bind.` pass (RFC 4892).
    public static func inspect(_ packet: [UInt8], identityNames: Bool = false) -> GateVerdict {
        .drop(.tooShort)
    }
}
