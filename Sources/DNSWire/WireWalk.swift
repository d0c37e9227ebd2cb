/// Hand-written, allocation-free reading of DNS wire structure, shared by the gate and the codec's
/// truncation. It never follows a compression pointer forwards, so every walk terminates.
struct WireWalk {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static let maxPointerHops = 128

    /// What a name walk found.
    struct Name {
        /// Offset just after the name where it was written (after the first pointer, if any).
        var end: Int
        /// True when the name is the root.
        var isRoot: Bool
    }

    @inline(__always) func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
    @inline(__always) func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) << 16 | UInt32(u16(at + 2)) }

    /// Walks the name at `start`. Labels ≤ 63 octets, the whole name ≤ 255, pointers only to offsets
    /// ≥ 12 and strictly before the label run that holds them (so a name in the question, the first
    /// one in a message, can have none), at most 128 of them.
    @inline(__always)
    func name(at start: Int) -> Name? {
        var unused: [UInt8] = []
        return name(at: start, collecting: false, into: &unused)
    }

    /// Walks the name at `start` and appends it to `out` uncompressed, ASCII lower-cased.
    @inline(__always)
    func name(at start: Int, lowercasedInto out: inout [UInt8]) -> Name? {
        name(at: start, collecting: true, into: &out)
    }

    @inline(__always)
    private func name(at start: Int, collecting: Bool, into out: inout [UInt8]) -> Name? {
        var position = start
        var end = -1
        var runStart = start
        var hops = 0
        var length = 1
        while position < bytes.count {
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    if collecting { out.append(0) }
                    return Name(end: end < 0 ? position + 1 : end, isRoot: length == 1)
                }
                let labelLength = Int(byte)
                length += 1 + labelLength
                guard position + 1 + labelLength <= bytes.count, length <= 255 else { return nil }
                if collecting {
                    out.append(byte)
                    for i in (position + 1)...(position + labelLength) {
                        let c = bytes[i]
                        out.append(c &- 65 < 26 ? c | 0x20 : c)
                    }
                }
                position += 1 + labelLength
            case 0xC0:
                guard position + 1 < bytes.count else { return nil }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                hops += 1
                guard target >= 12, target < runStart, hops <= WireWalk.maxPointerHops else { return nil }
                if end < 0 { end = position + 2 }
                runStart = target
                position = target
            default:
                return nil  // 0x40 and 0x80: extended label types (RFC 6891 §5 retired them)
            }
        }
        return nil
    }

    /// One record's fixed fields and where its rdata lies.
    struct Record {
        var ownerIsRoot: Bool
        var type: UInt16
        var `class`: UInt16
        var ttl: UInt32
        var rdata: Range<Int>
        var end: Int { rdata.upperBound }
    }

    /// Walks the resource record at `start`.
    @inline(__always)
    func record(at start: Int) -> Record? {
        guard let owner = name(at: start) else { return nil }
        let fixed = owner.end
        guard fixed + 10 <= bytes.count else { return nil }
        let rdataStart = fixed + 10
        let rdataEnd = rdataStart + Int(u16(fixed + 8))
        guard rdataEnd <= bytes.count else { return nil }
        return Record(ownerIsRoot: owner.isRoot, type: u16(fixed), class: u16(fixed + 2), ttl: u32(fixed + 4),
                      rdata: rdataStart..<rdataEnd)
    }

    /// Where the questions end, and every record's end, TTL offset and type, in message order.
    struct Layout {
        var questionsEnd: Int
        var recordEnds: [Int]
        var ttlOffsets: [Int]
        var recordTypes: [UInt16]
    }

    /// The layout of the message; nil when malformed.
    func layout() -> Layout? {
        guard bytes.count >= 12 else { return nil }
        var position = 12
        for _ in 0..<Int(u16(4)) {
            guard let q = name(at: position), q.end + 4 <= bytes.count else { return nil }
            position = q.end + 4
        }
        let questionsEnd = position
        let total = Int(u16(6)) + Int(u16(8)) + Int(u16(10))
        var layout = Layout(questionsEnd: questionsEnd, recordEnds: [], ttlOffsets: [], recordTypes: [])
        layout.recordEnds.reserveCapacity(total)
        layout.ttlOffsets.reserveCapacity(total)
        layout.recordTypes.reserveCapacity(total)
        for _ in 0..<total {
            guard let r = record(at: position) else { return nil }
            // ```text
            // owner | TYPE (2) | CLASS (2) | TTL (4) | RDLENGTH (2) | RDATA
            // ```
            layout.ttlOffsets.append(r.rdata.lowerBound - 6)
            layout.recordTypes.append(r.type)
            position = r.end
            layout.recordEnds.append(position)
        }
        return layout
    }

    /// Parses OPT rdata into options; nil when an option overruns it.
    func ednsOptions(_ range: Range<Int>) -> [EDNSOption]? {
        var options: [EDNSOption] = []
        var i = range.lowerBound
        while i < range.upperBound {
            guard i + 4 <= range.upperBound else { return nil }
            let code = u16(i), length = Int(u16(i + 2))
            guard i + 4 + length <= range.upperBound else { return nil }
            options.append(EDNSOption(code: code, data: Array(bytes[(i + 4)..<(i + 4 + length)])))
            i += 4 + length
        }
        return options
    }
}
