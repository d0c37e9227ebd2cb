/// An answer rendered once by the codec and sent many times (docs/architecture.md, the hot path): a query only
/// patches the ID, its own question bytes and flags, and an OPT record, with no allocation.
public struct PrerenderedAnswer: Sendable {
    /// The response rendered with its question name lower-cased and without OPT.
    public let bytes: [UInt8]
    /// The response code (its upper bits travel in the OPT record when the query has one).
    public let rcode: RCode
    /// The end of the question in `bytes`; a query's question must end at the same offset.
    let questionEnd: Int
    /// The EDE options of the response, as OPT rdata.
    let ednsOptions: [UInt8]
    /// The end of every record in `bytes`, and how many are answer and authority records: an answer
    /// over a UDP limit keeps the longest prefix of records that fits, as the codec cuts it.
    let recordEnds: [Int]
    let answerCount: Int, authorityCount: Int
    /// The offset of every record's TTL in `bytes`, in message order: an answer from the cache counts
    /// them down as it goes out.
    let ttlOffsets: [Int]

    /// Renders `response` (whose question is the name being answered) once.
    public init(rendering response: Message) {
        var m = response
        m.questions = m.questions.map { Question(name: $0.name.lowercased, type: $0.type, class: $0.class) }
        m.edns = nil
        bytes = WireCodec.encode(m)
        rcode = response.header.rcode
        questionEnd = 12 + m.questions.reduce(0) { $0 + $1.name.wireLength + 4 }
        ednsOptions = Self.edeRdata(response.edns?.options ?? [])
        let layout = bytes.withUnsafeBytes { WireWalk($0).layout() }
        recordEnds = layout?.recordEnds ?? []
        ttlOffsets = layout?.ttlOffsets ?? []
        answerCount = m.answer.count
        authorityCount = m.authority.count
    }

    /// An answer already in wire form without OPT (the cache's stored answers): read, not re-encoded.
    /// nil when `wire` is not one well-formed message with one question and no OPT.
    public init?(wire: [UInt8], rcode: RCode) {
        guard let layout = wire.withUnsafeBytes({ WireWalk($0).layout() }), wire.count >= 12,
              layout.questionsEnd > 12, UInt16(wire[4]) << 8 | UInt16(wire[5]) == 1,
              layout.recordEnds.last ?? layout.questionsEnd == wire.count,
              !layout.recordTypes.contains(RRType.opt.rawValue) else { return nil }
        bytes = wire
        self.rcode = rcode
        questionEnd = layout.questionsEnd
        ednsOptions = []
        recordEnds = layout.recordEnds
        ttlOffsets = layout.ttlOffsets
        answerCount = Int(UInt16(wire[6]) << 8 | UInt16(wire[7]))
        authorityCount = Int(UInt16(wire[8]) << 8 | UInt16(wire[9]))
    }

    /// An answer laid out by a walk of its bytes (no OPT among them).
    init(bytes: [UInt8], rcode: RCode, questionEnd: Int, ednsOptions: [UInt8], recordEnds: [Int], ttlOffsets: [Int]) {
        self.bytes = bytes; self.rcode = rcode; self.questionEnd = questionEnd; self.ednsOptions = ednsOptions
        self.recordEnds = recordEnds; self.ttlOffsets = ttlOffsets
        answerCount = Int(UInt16(bytes[6]) << 8 | UInt16(bytes[7]))
        authorityCount = Int(UInt16(bytes[8]) << 8 | UInt16(bytes[9]))
    }

    public var truncated: Bool { bytes[2] & 0x02 != 0 }
    public var hasAnswerRecords: Bool { answerCount > 0 }

    /// What caching rules read: the smallest TTL of the answer records (nil without any), and the
    /// TTL and MINIMUM of the first SOA record of the authority section.
    public var ttls: (answerMinimum: UInt32?, soa: (ttl: UInt32, minimum: UInt32)?) {
        func u32(_ at: Int) -> UInt32 { bytes.withUnsafeBytes { Self.ttl(in: $0, at: at) } }
        var answerMinimum: UInt32?
        for i in 0..<min(answerCount, ttlOffsets.count) { answerMinimum = min(answerMinimum ?? .max, u32(ttlOffsets[i])) }
        for i in answerCount..<min(answerCount + authorityCount, ttlOffsets.count) {
            let ttlAt = ttlOffsets[i]
            // ```text
            // TYPE (2) | CLASS (2) | TTL (4) | RDLENGTH (2) | RDATA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
            // ```
            guard UInt16(bytes[ttlAt - 4]) << 8 | UInt16(bytes[ttlAt - 3]) == RRType.soa.rawValue else { continue }
            guard Int(UInt16(bytes[ttlAt + 4]) << 8 | UInt16(bytes[ttlAt + 5])) >= 22 else { break }
            return (answerMinimum, (u32(ttlAt), u32(recordEnds[i] - 4)))
        }
        return (answerMinimum, nil)
    }

    /// The same answer with every TTL at most `cap` and no EDE options: what the cache stores.
    public func cappingTTLs(at cap: UInt32) -> PrerenderedAnswer {
        var out = bytes
        out.withUnsafeMutableBytes { out in
            for offset in ttlOffsets where Self.ttl(in: UnsafeRawBufferPointer(out), at: offset) > cap {
                Self.setTTL(cap, in: out, at: offset)
            }
        }
        return PrerenderedAnswer(bytes: out, rcode: rcode, questionEnd: questionEnd, ednsOptions: [],
                                 recordEnds: recordEnds, ttlOffsets: ttlOffsets)
    }

    /// The TTL at `offset` (network byte order in the wire form).
    @inline(__always)
    static func ttl(in bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    static func setTTL(_ ttl: UInt32, in bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBytes(of: ttl.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// The Extended DNS Error options among `options`, as OPT rdata (what an answer carries to every client).
    static func edeRdata(_ options: [EDNSOption]) -> [UInt8] {
        var rdata: [UInt8] = []
        for option in options where option.code == EDNSOption.edeCode {
            rdata += RData.be16(option.code) + RData.be16(UInt16(truncatingIfNeeded: option.data.count)) + option.data
        }
        return rdata
    }

    /// The size of the answer to `view`.
    public func size(for view: QueryView) -> Int {
        bytes.count + (view.edns == nil ? 0 : OPTRecord.fixedLength + ednsOptions.count)
    }

    /// Writes the answer to `query` (which the gate passed as `view`) into `out`: the rendered bytes
    /// with the query's ID, question bytes (same length, so compression pointers stay valid), RD and
    /// CD, plus an OPT record (payload 1232, version 0, DO copied, the response's EDE options) when
    /// the query had one. Over `limit` (pass `view.udpLimit` for UDP) it keeps as many whole records
    /// as fit, with TC when answer or authority lost one — byte for byte what the codec renders.
    /// Returns the length, or nil when it would exceed `out` or the query's question does not fit
    /// this answer.
    ///
    /// With `age` (seconds), every record's TTL is counted down by it, never below 0, as a cached
    /// answer is served.
    public func write(query: UnsafeRawBufferPointer, view: QueryView, into out: UnsafeMutableRawBufferPointer,
                      limit: Int = 65535, age: UInt32 = 0) -> Int? {
        let optLength = size(for: view) - bytes.count
        var kept = recordEnds.count, end = bytes.count
        while end + optLength > limit && kept > 0 {
            kept -= 1
            end = kept == 0 ? questionEnd : recordEnds[kept - 1]
        }
        let total = end + optLength
        guard total <= limit, total <= out.count, view.questionEnd == questionEnd, query.count >= questionEnd,
              bytes.count >= questionEnd, let base = out.baseAddress else { return nil }
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: end) }
        if kept < recordEnds.count {
            func putCount(_ count: Int, at offset: Int) {
                out[offset] = UInt8(count >> 8)
                out[offset + 1] = UInt8(count & 0xFF)
            }
            let answers = min(kept, answerCount), authorities = min(kept - answers, authorityCount)
            putCount(answers, at: 6)
            putCount(authorities, at: 8)
            putCount(kept - answers - authorities, at: 10)
            if kept < answerCount + authorityCount { out[2] |= 0x02 }  // TC
        }
        out[0] = query[0]
        out[1] = query[1]
        out[2] = (out[2] & 0xFE) | (query[2] & 0x01)  // RD
        out[3] = (out[3] & 0xEF) | (query[3] & 0x10)  // CD
        (base + 12).copyMemory(from: query.baseAddress! + 12, byteCount: questionEnd - 12)
        if age > 0 {
            for offset in ttlOffsets where offset < end {
                let ttl = Self.ttl(in: UnsafeRawBufferPointer(out), at: offset)
                Self.setTTL(ttl - min(ttl, age), in: out, at: offset)
            }
        }
        guard let edns = view.edns else { return total }

        let optEnd = ednsOptions.withUnsafeBytes {
            OPTRecord.write(rcode: rcode, dnssecOK: edns.dnssecOK, options: $0, into: out, at: end)
        }
        assert(optEnd == total)
        let arcount = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
        out[10] = UInt8(arcount >> 8)
        out[11] = UInt8(arcount & 0xFF)
        return total
    }
}
