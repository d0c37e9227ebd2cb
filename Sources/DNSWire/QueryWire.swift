import NameExpansion

extension WireCodec {
    /// The wire form of a recursive query for `question` with an OPT record and no options, byte for
    /// byte what `encode(Message.query(...))` gives (a differential test holds them together), built
    /// without ldns: the forwarder sends one per try.
    ///
    /// ```text
    /// header   ID | RD (CD) | QDCOUNT 1 | ANCOUNT 0 | NSCOUNT 0 | ARCOUNT 1
    /// question QNAME (uncompressed) | QTYPE | QCLASS
    /// OPT      root | TYPE 41 | CLASS payload | TTL 0, version 0, DO | RDLENGTH 0   (RFC 6891 §6.1.2)
    /// ```
    public static func recursiveQuery(id: UInt16, _ question: Question, udpPayloadSize: UInt16,
                                      dnssecOK: Bool, checkingDisabled: Bool) -> [UInt8] {
        var wire: [UInt8] = []
        wire.reserveCapacity(12 + question.name.wireLength + 4 + 11)
        func u16(_ value: UInt16) { wire.append(UInt8(value >> 8)); wire.append(UInt8(value & 0xff)) }
        u16(id)
        wire.append(0x01)                            // RD
        wire.append(checkingDisabled ? 0x10 : 0x00)  // CD
        u16(1); u16(0); u16(0); u16(1)
        question.name.appendWire(to: &wire)
        u16(question.type.rawValue)
        u16(question.class.rawValue)
        wire.append(0)
        u16(RRType.opt.rawValue)
        u16(udpPayloadSize)
        wire.append(0); wire.append(0)
        wire.append(dnssecOK ? 0x80 : 0x00); wire.append(0)
        u16(0)
        return wire
    }
}
