/// An answer rendered once by the codec and sent many times (DESIGN §5 hot path): a query only
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

    /// Renders `response` (whose question is the name being answered) once.
    public init(rendering response: Message) {
        var m = response
        m.questions = m.questions.map { Question(name: $0.name.lowercased, type: $0.type, class: $0.class) }
        m.edns = nil
        bytes = WireCodec.encode(m)
        rcode = response.header.rcode
        questionEnd = 12 + m.questions.reduce(0) { $0 + $1.name.wireLength + 4 }
        var options: [UInt8] = []
        for option in response.edns?.options ?? [] where option.code == EDNSOption.edeCode {
            options += RData.be16(option.code) + RData.be16(UInt16(truncatingIfNeeded: option.data.count)) + option.data
        }
        ednsOptions = options
    }

    /// The size of the answer to `view`.
    public func size(for view: QueryView) -> Int {
        bytes.count + (view.edns == nil ? 0 : OPTRecord.fixedLength + ednsOptions.count)
    }

    /// Writes the answer to `query` (which the gate passed as `view`) into `out`: the rendered bytes
    /// with the query's ID, question bytes (same length, so compression pointers stay valid), RD and
    /// CD, plus an OPT record (payload 1232, version 0, DO copied, the response's EDE options) when
    /// the query had one. Returns the length, or nil when it would exceed `limit` (pass
    /// `view.udpLimit` for UDP) or `out`, or the query's question does not fit this answer.
    public func write(query: UnsafeRawBufferPointer, view: QueryView, into out: UnsafeMutableRawBufferPointer,
                      limit: Int = 65535) -> Int? {
        let total = size(for: view)
        guard total <= limit, total <= out.count, view.questionEnd == questionEnd, query.count >= questionEnd,
              bytes.count >= questionEnd, let base = out.baseAddress else { return nil }
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        out[0] = query[0]
        out[1] = query[1]
        out[2] = (out[2] & 0xFE) | (query[2] & 0x01)  // RD
        out[3] = (out[3] & 0xEF) | (query[3] & 0x10)  // CD
        (base + 12).copyMemory(from: query.baseAddress! + 12, byteCount: questionEnd - 12)
        guard let edns = view.edns else { return total }

        let end = ednsOptions.withUnsafeBytes {
            OPTRecord.write(rcode: rcode, dnssecOK: edns.dnssecOK, options: $0, into: out, at: bytes.count)
        }
        assert(end == total)
        let arcount = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
        out[10] = UInt8(arcount >> 8)
        out[11] = UInt8(arcount & 0xFF)
        return total
    }
}
