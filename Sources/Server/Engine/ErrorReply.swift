import DNSWire

/// Short error answers built from a query that passed the gate, without a full parse:
/// the header and question echoed, the rcode set, and an OPT when the query had one.
enum ErrorReply {
    static func make(query: UnsafeRawBufferPointer, view: QueryView, rcode: RCode) -> [UInt8] {
        var out = Array(query[0..<view.questionEnd])
        out[2] = 0x80 | (out[2] & 0x79)          // QR, keep opcode and RD; clear AA and TC
        out[3] = (out[3] & 0x10) | UInt8(rcode.rawValue & 0x0f)  // keep CD
        out[4] = 0; out[5] = 1
        for i in 6..<12 { out[i] = 0 }
        if let edns = view.edns {
            // OPT: root owner, type 41, payload 1232, extended rcode, version 0, DO copied, no options.
            out[11] = 1
            out += [0, 0, 41, 0x04, 0xd0, UInt8(rcode.rawValue >> 4), 0, edns.dnssecOK ? 0x80 : 0, 0, 0, 0]
        }
        return out
    }
}
