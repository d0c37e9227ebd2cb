/// What the gate learned about a query without a full parse: offsets into the packet and the
/// fields the fast path needs (docs/behaviour.md, the gate).
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

/// Why a packet was dropped without an answer (fixed metric labels).
public enum DropReason: String, Sendable, CaseIterable {
    case tooShort = "too_short"
    case isResponse = "response"
}

/// The gate's decision on one packet (docs/behaviour.md, the gate).
public enum GateVerdict: Sendable, Equatable {
    /// Drop silently (counted).
    case drop(DropReason)
    /// Answer with these bytes (FORMERR, NOTIMP, REFUSED, BADVERS…); `rcode` is for metrics.
    case reply([UInt8], rcode: RCode)
    /// A well-formed query to resolve.
    case pass(QueryView)
}

/// The checks every packet passes before any parsing (docs/behaviour.md, the gate). Hand-written and allocation-light:
/// it reads the header, walks the question and the additional section, and never trusts a count.
public enum Gate {
    /// - Parameter identityNames: when true, CH TXT `id.server.` and `hostname.bind.` pass (RFC 4892).
    public static func inspect(_ packet: [UInt8], identityNames: Bool = false) -> GateVerdict {
        packet.withUnsafeBytes { inspect($0, identityNames: identityNames) }
    }

    /// The same checks on bytes straight from a receive buffer.
    public static func inspect(_ packet: UnsafeRawBufferPointer, identityNames: Bool = false) -> GateVerdict {
        var name: [UInt8] = []
        return inspect(packet, identityNames: identityNames, nameBuffer: &name)
    }

    /// The same, lower-casing the question name into `nameBuffer`'s storage, which a listener keeps
    /// from one packet to the next: once the previous packet's view is gone nothing else holds it,
    /// so the name costs no allocation.
    public static func inspect(_ packet: UnsafeRawBufferPointer, identityNames: Bool = false, nameBuffer: inout [UInt8]) -> GateVerdict {
        guard packet.count >= 12 else { return .drop(.tooShort) }
        let walk = WireWalk(packet)
        // ```text
        //  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
        // |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
        // ```
        let flags = walk.u16(2)
        guard flags & 0x8000 == 0 else { return .drop(.isResponse) }
        var storage: [UInt8] = []
        swap(&storage, &nameBuffer)
        let scan = Scan(walk, name: consume storage)
        nameBuffer = scan.lowercasedName
        let opcode = Opcode(UInt8((flags >> 11) & 0x0F))
        func reply(_ rcode: RCode) -> GateVerdict {
            .reply(ErrorReply.make(query: packet, questionEnd: scan.questionEnd, edns: scan.edns, rcode: rcode), rcode: rcode)
        }

        guard opcode == .query else { return reply(.notImp) }
        guard walk.u16(4) == 1, walk.u16(6) == 0, walk.u16(8) == 0, scan.wellFormed,
              let questionEnd = scan.questionEnd else { return reply(.formErr) }
        if let edns = scan.edns, edns.version != 0 { return reply(.badVers) }

        let qtype = RRType(walk.u16(questionEnd - 4)), qclass = RRClass(walk.u16(questionEnd - 2))
        if qclass != .in {
            let identity = identityNames && qclass == .chaos && qtype == .txt
                && (scan.lowercasedName == Gate.idServer || scan.lowercasedName == Gate.hostnameBind)
            if !identity { return reply(.refused) }
        }
        if qtype == .axfr || qtype == .ixfr { return reply(.refused) }
        // Meta and query-only types cannot be looked up; ANY gets a minimal answer (RFC 8482).
        if qtype.isMetaOrQueryOnly && qtype != .any { return reply(.formErr) }

        return .pass(QueryView(id: walk.u16(0), opcode: opcode, recursionDesired: flags & 0x0100 != 0,
                               checkingDisabled: flags & 0x0010 != 0, questionEnd: questionEnd, qtype: qtype,
                               qclass: qclass, lowercasedWireName: scan.lowercasedName, edns: scan.edns))
    }

    static let idServer: [UInt8] = [2] + Array("id".utf8) + [6] + Array("server".utf8) + [0]
    static let hostnameBind: [UInt8] = [8] + Array("hostname".utf8) + [4] + Array("bind".utf8) + [0]
}

/// One pass over the packet's structure.
private struct Scan {
    /// The end of the question, when QDCOUNT is 1 and it could be read.
    var questionEnd: Int?
    var lowercasedName: [UInt8] = []
    /// The query's OPT record, when it had exactly one and it was well formed.
    var edns: EDNS?
    /// Every count honoured, every record intact, nothing after the last one.
    var wellFormed = false

    init(_ walk: WireWalk, name: consuming [UInt8]) {
        name.removeAll(keepingCapacity: true)
        lowercasedName = consume name
        lowercasedName.reserveCapacity(64)
        var position = 12
        let questions = Int(walk.u16(4))
        for index in 0..<questions {
            guard let name = index == 0 ? walk.name(at: position, lowercasedInto: &lowercasedName) : walk.name(at: position),
                  name.end + 4 <= walk.bytes.count else { return }
            position = name.end + 4
            if questions == 1 { questionEnd = position }
        }
        for _ in 0..<(Int(walk.u16(6)) + Int(walk.u16(8))) {
            guard let record = walk.record(at: position) else { return }
            position = record.end
        }
        var opt: EDNS?
        for _ in 0..<Int(walk.u16(10)) {
            // A query's additional section holds its OPT and nothing else: other records (TSIG, SIG(0))
            // are not supported, and their rdata would need a full parse to be trusted.
            guard let record = walk.record(at: position), record.type == RRType.opt.rawValue,
                  record.ownerIsRoot, opt == nil,
                  let options = walk.ednsOptions(record.rdata) else { return }
            position = record.end
            // ```text
            // TTL: | EXTENDED-RCODE (8) | VERSION (8) | DO | Z (15) |     CLASS: requestor's UDP payload size
            // ```
            opt = EDNS(udpPayloadSize: record.class, version: UInt8(truncatingIfNeeded: record.ttl >> 16),
                       dnssecOK: record.ttl & 0x8000 != 0, options: options)
        }
        guard position == walk.bytes.count else { return }
        edns = opt
        wellFormed = true
    }
}
