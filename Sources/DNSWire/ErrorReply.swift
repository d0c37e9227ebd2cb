/// Short error answers built from a query's bytes without a full parse: the gate's FORMERR, NOTIMP,
/// REFUSED and BADVERS, the server's REFUSED for clients outside `allowedNetworks`, and SERVFAIL
/// when the engine is out of reach. Every one has the same shape:
///
/// ```text
/// ID echoed | QR=1, opcode and RD echoed, AA=0, TC=0 | RA=1, CD echoed, RCODE (low 4 bits)
/// QDCOUNT 1 with the question byte for byte when it could be read (else 0) | ANCOUNT 0 | NSCOUNT 0
/// ARCOUNT 1 with an OPT (`OPTRecord`) when the query had a valid one (else 0)
/// ```
/// RA is set on every reply fedns sends: it is a recursive resolver for its clients (as CoreDNS and
/// Unbound answer).
public enum ErrorReply {
    /// - Parameters:
    ///   - query: the received packet (at least 12 bytes).
    ///   - questionEnd: where the question ends when QDCOUNT was 1 and it could be read; nil leaves it out.
    ///   - edns: the query's OPT when it had exactly one well-formed one.
    public static func make(query: UnsafeRawBufferPointer, questionEnd: Int?, edns: EDNS?, rcode: RCode) -> [UInt8] {
        let question = questionEnd.map { 12..<min($0, query.count) } ?? 12..<12
        var out: [UInt8] = []
        out.reserveCapacity(question.upperBound + OPTRecord.fixedLength)
        out.append(query[0]); out.append(query[1])
        out.append(0x80 | (query[2] & 0x79))                                     // QR, opcode, RD
        out.append(0x80 | (query[3] & 0x10) | UInt8(truncatingIfNeeded: rcode.rawValue & 0x0F))  // RA, CD, RCODE
        out += [0, question.isEmpty ? 0 : 1, 0, 0, 0, 0, 0, edns == nil ? 0 : 1]
        out.append(contentsOf: query[question])
        if let edns { out += OPTRecord.bytes(rcode: rcode, dnssecOK: edns.dnssecOK) }
        return out
    }

    /// The error reply to a query the gate passed.
    public static func make(query: UnsafeRawBufferPointer, view: QueryView, rcode: RCode) -> [UInt8] {
        make(query: query, questionEnd: view.questionEnd, edns: view.edns, rcode: rcode)
    }
}

/// The OPT record of every reply fedns writes by hand (error replies, pre-rendered answers):
///
/// ```text
/// owner . (0) | TYPE 41 | CLASS: payload 1232 | TTL: EXTENDED-RCODE | VERSION 0 | DO | Z | RDLENGTH | options
/// ```
public enum OPTRecord {
    /// The payload size fedns announces (the DNS flag day 2020 value).
    public static let payloadSize: UInt16 = 1232
    /// The length of an OPT record without options.
    public static let fixedLength = 11

    /// Writes the record with `options` (already in wire form) at `offset` of `out`, which must have
    /// room for `fixedLength + options.count` bytes; returns the offset after it.
    @inline(__always)
    public static func write(rcode: RCode, dnssecOK: Bool, options: UnsafeRawBufferPointer,
                             into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var at = offset
        func put(_ byte: UInt8) { out[at] = byte; at += 1 }
        put(0)
        put(0); put(41)
        put(UInt8(truncatingIfNeeded: payloadSize >> 8)); put(UInt8(truncatingIfNeeded: payloadSize))
        put(UInt8(truncatingIfNeeded: rcode.rawValue >> 4)); put(0); put(dnssecOK ? 0x80 : 0); put(0)
        put(UInt8(truncatingIfNeeded: options.count >> 8)); put(UInt8(truncatingIfNeeded: options.count))
        if options.count > 0, let source = options.baseAddress, let base = out.baseAddress {
            (base + at).copyMemory(from: source, byteCount: options.count)
        }
        return at + options.count
    }

    /// The record as bytes.
    public static func bytes(rcode: RCode, dnssecOK: Bool, options: [UInt8] = []) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: fixedLength + options.count)
        options.withUnsafeBytes { options in
            out.withUnsafeMutableBytes { _ = write(rcode: rcode, dnssecOK: dnssecOK, options: options, into: $0, at: 0) }
        }
        return out
    }
}
