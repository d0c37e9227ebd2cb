import NameExpansion

extension Message {
    /// The query the gate passed, built from its view and the packet without a second parse: the
    /// gate has already walked every byte (one question without compression pointers, an additional
    /// section holding only the OPT). The differential test checks it equals ldns's reading.
    /// A query's RCODE carries nothing, so only its low four header bits are kept.
    public init(gatedQuery packet: UnsafeRawBufferPointer, view: QueryView) {
        self.init()
        let flags = UInt16(packet[2]) << 8 | UInt16(packet[3])
        header.id = view.id
        header.isResponse = flags & 0x8000 != 0
        header.opcode = view.opcode
        header.authoritative = flags & 0x0400 != 0
        header.truncated = flags & 0x0200 != 0
        header.recursionDesired = flags & 0x0100 != 0
        header.recursionAvailable = flags & 0x0080 != 0
        header.authenticData = flags & 0x0020 != 0
        header.checkingDisabled = flags & 0x0010 != 0
        header.rcode = RCode(flags & 0x000F)
        var labels: [String] = []
        var i = 12
        while packet[i] != 0 {
            let length = Int(packet[i])
            labels.append(DomainName.label(wireBytes: UnsafeRawBufferPointer(rebasing: packet[(i + 1)..<(i + 1 + length)])))
            i += 1 + length
        }
        questions = [Question(name: DomainName(labels: labels), type: view.qtype, class: view.qclass)]
        edns = view.edns
    }
}
