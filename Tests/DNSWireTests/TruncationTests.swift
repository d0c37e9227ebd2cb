import Testing
import NameExpansion
@testable import DNSWire

/// A UDP answer over the limit keeps as many whole records as fit, dropping from the end (additional,
/// then authority, then answer): a client that never retries over TCP still gets addresses.
@Suite("Truncation keeps the whole records that fit")
struct TruncationTests {
    static func addresses(_ owner: String, _ count: Int, base: Int = 0) -> [String] {
        (0..<count).map { "\(owner) 5 IN A 10.0.\(($0 + base) / 256).\(($0 + base) % 256)" }
    }

    /// Every record of `m`, in wire order.
    static func records(_ m: Message) -> [ResourceRecord] { m.answer + m.authority + m.additional }

    /// Checks what every truncated rendering must be: within the limit, the kept records a prefix of
    /// the message's records in wire order, one more record would not fit, TC exactly when answer or
    /// authority lost a record, and the OPT record kept.
    static func expectMaximalPrefix(_ m: Message, limit: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> Message {
        let bytes = WireCodec.encode(m, maxSize: limit)
        #expect(bytes.count <= limit, sourceLocation: sourceLocation)
        let decoded = try WireCodec.decode(bytes)
        let all = records(m), kept = records(decoded)
        #expect(Array(all.prefix(kept.count)) == kept, "kept records are not a prefix at limit \(limit)", sourceLocation: sourceLocation)
        if kept.count < all.count {
            var oneMore = m
            oneMore.additional = []; oneMore.authority = []
            let next = kept.count + 1
            oneMore.answer = Array(all.prefix(next))
            #expect(WireCodec.encode(oneMore).count > limit, "record \(next) would have fit at limit \(limit)",
                    sourceLocation: sourceLocation)
        }
        #expect(decoded.header.truncated == (decoded.answer.count < m.answer.count || decoded.authority.count < m.authority.count),
                sourceLocation: sourceLocation)
        #expect(decoded.edns == m.edns, "the OPT record is always kept", sourceLocation: sourceLocation)
        return decoded
    }

    @Test func fitsUntouched() throws {
        let m = response("web.example.", .a, answer: Self.addresses("web.example.", 5))
        let decoded = try WireCodec.decode(WireCodec.encode(m, maxSize: 512))
        #expect(decoded == m)
        #expect(!decoded.header.truncated)
    }

    @Test("300 addresses without EDNS: as many as 512 bytes hold, TC set")
    func bigHeadlessServiceKeepsAddresses() throws {
        let name = "big.mynamespace.svc.cluster.local."
        let m = response(name, .a, answer: Self.addresses(name, 300))
        let decoded = try Self.expectMaximalPrefix(m, limit: 512)
        // 12 header + 39 question + 28 × 16 (compressed owner, 4-byte address) = 499; a 29th would be 515.
        #expect(decoded.answer.count == 28)
        #expect(decoded.header.truncated)
    }

    @Test func answerKeepsWhatFitsAfterAuthorityAndAdditionalGo() throws {
        let m = response("www.example.", .a,
                         answer: ["www.example. 30 IN CNAME web.example."] + Self.addresses("web.example.", 60),
                         authority: ["example. 30 IN NS ns1.example."],
                         additional: ["ns1.example. 30 IN A 192.0.2.53"], edns: EDNS())
        let decoded = try Self.expectMaximalPrefix(m, limit: 512)
        #expect(decoded.header.truncated)
        #expect(decoded.answer.first == m.answer[0], "the CNAME leads and is kept")
        #expect(decoded.answer.count > 20, "\(decoded)")
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty)
    }

    @Test("SRV with additional addresses: additional records go first, without TC")
    func additionalGoesFirst() throws {
        let owner = "_http._tcp.big.mynamespace.svc.cluster.local."
        let srv = (0..<20).map { "\(owner) 5 IN SRV 0 5 80 pod-\($0).big.mynamespace.svc.cluster.local." }
        let glue = (0..<20).map { "pod-\($0).big.mynamespace.svc.cluster.local. 5 IN A 10.244.0.\($0)" }
        let m = response(owner, .srv, answer: srv, additional: glue, edns: EDNS())
        let full = WireCodec.encode(m).count
        let decoded = try Self.expectMaximalPrefix(m, limit: full - 1)
        #expect(decoded.answer == m.answer && decoded.additional.count == 19)
        #expect(!decoded.header.truncated, "RFC 2181 §9: losing additional data is not truncation")
        let small = try Self.expectMaximalPrefix(m, limit: 512)
        #expect(small.header.truncated && small.additional.isEmpty && !small.answer.isEmpty)
    }

    @Test func additionalOnlyDropHasNoTC() throws {
        let m = response("web.example.", .a, answer: Self.addresses("web.example.", 2),
                         additional: Self.addresses("extra.example.", 40), edns: EDNS(dnssecOK: true))
        let decoded = try Self.expectMaximalPrefix(m, limit: 512)
        #expect(!decoded.header.truncated, "RFC 2181 §9: losing additional data is not truncation")
        #expect(decoded.answer == m.answer)
        #expect(!decoded.additional.isEmpty && decoded.additional.count < m.additional.count)
    }

    @Test func optWithEDEIsKeptWhenNoRecordFits() throws {
        let big = String(repeating: "x", count: 250)
        var m = response("web.example.", .txt, answer: (0..<3).map { _ in "web.example. 5 IN TXT \"\(big)\" \"\(big)\"" }, edns: EDNS())
        m.addExtendedError(.staleAnswer, text: "served stale")
        let decoded = try Self.expectMaximalPrefix(m, limit: 512)
        #expect(decoded.header.truncated)
        #expect(decoded.answer.isEmpty)
        #expect(decoded.edns?.extendedError == .staleAnswer)
        #expect(decoded.questions == m.questions)
    }

    @Test("truncated answers keep a maximal prefix of whole records", arguments: [300, 512, 700, 1232, 1500])
    func keptRecordsAreAMaximalPrefix(limit: Int) throws {
        let answer = Self.addresses("a.example.", 6) + Self.addresses("b.example.", 6) + Self.addresses("a.example.", 6, base: 100)
            + Self.addresses("c.example.", 30)
        let m = response("a.example.", .a, answer: answer, authority: Self.addresses("d.example.", 10),
                         additional: Self.addresses("e.example.", 20), edns: EDNS())
        _ = try Self.expectMaximalPrefix(m, limit: limit)
    }
}
