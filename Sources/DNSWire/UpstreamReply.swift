/// A reply from an upstream server as it came off the wire, checked against the query it answers
/// (RFC 5452 §9.1) by walking its bytes, not by a decode: a forwarded answer that no handler
/// changes goes back to the client from these bytes (``clientAnswer()``) without the codec.
public struct UpstreamReply: Sendable {
    public let bytes: [UInt8]
    /// The whole response code: the header's four bits and, with an OPT record, its upper eight.
    public let rcode: RCode
    public var truncated: Bool { bytes[2] & 0x02 != 0 }
    let layout: WireWalk.Layout
    /// The OPT record's index among the records, when the reply has one.
    let optIndex: Int?

    /// The reply, when `bytes` is one well-formed response (QR set, ID `id`) with exactly the
    /// question `name` (wire form, lower-cased; compared ignoring ASCII case), `type` and `class`,
    /// at most one OPT record, and A and AAAA records of their fixed length; nil for anything else.
    public init?(_ bytes: [UInt8], id: UInt16, name: [UInt8], type: RRType, class qclass: RRClass) {
        guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id, bytes[2] & 0x80 != 0,
              UInt16(bytes[4]) << 8 | UInt16(bytes[5]) == 1 else { return nil }
        let checked: (WireWalk.Layout, Int?, UInt16)? = bytes.withUnsafeBytes { raw in
            let walk = WireWalk(raw)
            guard let layout = walk.layout(), layout.recordEnds.last ?? layout.questionsEnd == raw.count,
                  Self.sameName(raw, at: 12, as: name), 12 + name.count + 4 == layout.questionsEnd,
                  walk.u16(layout.questionsEnd - 4) == type.rawValue, walk.u16(layout.questionsEnd - 2) == qclass.rawValue
            else { return nil }
            var opt: Int?
            var upper: UInt16 = 0
            for (i, recordType) in layout.recordTypes.enumerated() {
                let rdlength = Int(walk.u16(layout.ttlOffsets[i] + 4))
                switch RRType(recordType) {
                case .a where rdlength != 4, .aaaa where rdlength != 16:
                    return nil
                case .opt:
                    guard opt == nil else { return nil }  // RFC 6891 §6.1.1
                    opt = i
                    upper = UInt16(raw[layout.ttlOffsets[i]])
                default:
                    break
                }
            }
            return (layout, opt, upper)
        }
        guard let (layout, opt, upper) = checked else { return nil }
        self.bytes = bytes
        self.layout = layout
        self.optIndex = opt
        rcode = RCode(upper << 4 | UInt16(bytes[3] & 0x0F))
    }

    /// True when the uncompressed name at `offset` is `name` (lower-cased wire form) but for ASCII case.
    private static func sameName(_ raw: UnsafeRawBufferPointer, at offset: Int, as name: [UInt8]) -> Bool {
        guard offset + name.count <= raw.count else { return false }
        for i in name.indices {
            let c = raw[offset + i]
            guard (c &- 65 < 26 ? c | 0x20 : c) == name[i] else { return false }
        }
        return true
    }

    /// The reply decoded by the codec (nil when the codec rejects it).
    public func decoded() -> Message? { try? WireCodec.decode(bytes) }

    /// The reply laid out to be sent to any client asking its question, as the forwarder answers:
    /// ID 0 (each client's goes in), RA set, the OPT record taken out with its Extended DNS Errors kept
    /// (each client gets its own OPT). nil when that form cannot say what the reply says (an
    /// extended response code, an OPT record that is not the last record): then it goes through the codec.
    public func clientAnswer() -> PrerenderedAnswer? {
        var out = bytes
        out[0] = 0
        out[1] = 0
        out[3] |= 0x80  // RA
        var recordEnds = layout.recordEnds, ttlOffsets = layout.ttlOffsets
        var options: [UInt8] = []
        if let opt = optIndex {
            guard rcode.rawValue <= 15, opt == recordEnds.count - 1 else { return nil }
            let rdataStart = ttlOffsets[opt] + 6
            guard let parsed = bytes.withUnsafeBytes({ WireWalk($0).ednsOptions(rdataStart..<$0.count) }) else { return nil }
            options = PrerenderedAnswer.edeRdata(parsed)
            let start = opt == 0 ? layout.questionsEnd : recordEnds[opt - 1]
            out.removeSubrange(start...)
            recordEnds.removeLast()
            ttlOffsets.removeLast()
            let arcount = (UInt16(out[10]) << 8 | UInt16(out[11])) - 1
            out[10] = UInt8(arcount >> 8)
            out[11] = UInt8(arcount & 0xFF)
        }
        return PrerenderedAnswer(bytes: out, rcode: rcode, questionEnd: layout.questionsEnd, ednsOptions: options,
                                 recordEnds: recordEnds, ttlOffsets: ttlOffsets)
    }
}
