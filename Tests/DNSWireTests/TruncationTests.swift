import Testing
import NameExpansion
@testable import DNSWire

@Suite("Truncation at whole RRsets")
struct TruncationTests {
    static func addresses(_ owner: String, _ count: Int, base: Int = 0) -> [String] {
        (0..<count).map { "\(owner) 5 IN A 10.0.\(($0 + base) / 256).\(($0 + base) % 256)" }
    }

    /// The RRsets of `records`, keyed by owner and type, each as a set of rdata.
    static func rrsets(_ records: [ResourceRecord]) -> [String: Set<[UInt8]>] {
        Dictionary(grouping: records, by: { "\($0.name.lowercased) \($0.type)" }).mapValues { Set($0.map(\.rdata)) }
    }

    @Test func fitsUntouched() throws {
        let m = response("web.example.", .a, answer: Self.addresses("web.example.", 5))
        let decoded = try WireCodec.decode(WireCodec.encode(m, maxSize: 512))
        #expect(decoded == m)
        #expect(!decoded.header.truncated)
    }

    @Test func answerLosesWholeRRsetsAndSetsTC() throws {
        let m = response("www.example.", .a,
                         answer: ["www.example. 30 IN CNAME web.example."] + Self.addresses("web.example.", 60),
                         authority: ["example. 30 IN NS ns1.example."],
                         additional: ["ns1.example. 30 IN A 192.0.2.53"], edns: EDNS())
        let bytes = WireCodec.encode(m, maxSize: 512)
        #expect(bytes.count <= 512)
        let decoded = try WireCodec.decode(bytes)
        #expect(decoded.header.truncated)
        #expect(decoded.answer == [m.answer[0]], "\(decoded)")
        #expect(decoded.authority.isEmpty && decoded.additional.isEmpty)
        #expect(decoded.edns == m.edns, "the OPT record is always kept")
    }

    @Test func additionalOnlyDropHasNoTC() throws {
        let m = response("web.example.", .a, answer: Self.addresses("web.example.", 2),
                         additional: Self.addresses("extra.example.", 40), edns: EDNS(dnssecOK: true))
        let bytes = WireCodec.encode(m, maxSize: 512)
        #expect(bytes.count <= 512)
        let decoded = try WireCodec.decode(bytes)
        #expect(!decoded.header.truncated, "RFC 2181 §9: losing additional data is not truncation")
        #expect(decoded.answer == m.answer)
        #expect(decoded.additional.isEmpty)
        #expect(decoded.edns == m.edns)
    }

    @Test func optWithEDEIsKeptWhenEverythingElseGoes() throws {
        var m = response("web.example.", .a, answer: Self.addresses("web.example.", 100), edns: EDNS())
        m.addExtendedError(.staleAnswer, text: "served stale")
        let decoded = try WireCodec.decode(WireCodec.encode(m, maxSize: 512))
        #expect(decoded.header.truncated)
        #expect(decoded.answer.isEmpty)
        #expect(decoded.edns?.extendedError == .staleAnswer)
        #expect(decoded.questions == m.questions)
    }

    @Test("truncated answers are prefixes of whole RRsets", arguments: [300, 512, 700, 1232, 1500])
    func keptRRsetsAreComplete(limit: Int) throws {
        // Interleaved RRsets: dropping one removes its records wherever they sit.
        let answer = Self.addresses("a.example.", 6) + Self.addresses("b.example.", 6) + Self.addresses("a.example.", 6, base: 100)
            + Self.addresses("c.example.", 30)
        let m = response("a.example.", .a, answer: answer, authority: Self.addresses("d.example.", 10),
                         additional: Self.addresses("e.example.", 20), edns: EDNS())
        let bytes = WireCodec.encode(m, maxSize: limit)
        #expect(bytes.count <= limit)
        let decoded = try WireCodec.decode(bytes)
        let original = Self.rrsets(m.answer + m.authority + m.additional)
        for (key, set) in Self.rrsets(decoded.answer + decoded.authority + decoded.additional) {
            #expect(original[key] == set, "\(key) incomplete at limit \(limit)")
        }
        #expect(decoded.header.truncated == (decoded.answer.count < m.answer.count || decoded.authority.count < m.authority.count))
        #expect(decoded.edns != nil)
    }
}
