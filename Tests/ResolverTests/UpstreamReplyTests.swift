import DNSWire
import NameExpansion
import Testing
@testable import Resolver

/// A forwarded answer that no handler changes goes to the client from the upstream's bytes
/// (`UpstreamReply.clientAnswer()`), not through the codec: what the client gets must be what the
/// codec path (`ForwardHandler.reply` and an encode) gives, and the matcher must take exactly the
/// replies the decoding matcher took (RFC 5452 §9.1).
@Suite("Upstream replies passed on in wire form")
struct UpstreamReplyTests {
    static func records(_ texts: [String]) -> [ResourceRecord] { texts.map { try! ResourceRecord(zoneText: $0) } }

    /// Upstream replies to `www.example.com.`: as an upstream sends them, with its own EDNS options.
    static let upstreamReplies: [(String, RRType, Message)] = {
        func reply(_ type: RRType, rcode: RCode = .noError, answer: [String] = [], authority: [String] = [], additional: [String] = [],
                   edns: EDNS? = EDNS(udpPayloadSize: 1232), ra: Bool = true) -> Message {
            var m = Message.response(to: .query(id: 0x1234, name: try! DomainName("www.example.com."), type: type, edns: nil), rcode: rcode)
            m.answer = records(answer); m.authority = records(authority); m.additional = records(additional)
            m.edns = edns
            m.header.recursionAvailable = ra
            return m
        }
        let soa = "example.com. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 1800 86400 60"
        var withOptions = EDNS(udpPayloadSize: 4096, dnssecOK: true)
        withOptions.options = [EDNSOption(code: 3, data: Array("upstream-1".utf8)), .extendedError(.staleAnswer, text: "stale")]
        return [
            ("A", .a, reply(.a, answer: ["www.example.com. 300 IN A 192.0.2.1", "www.example.com. 300 IN A 192.0.2.2"])),
            ("CNAME chain", .a, reply(.a, answer: ["www.example.com. 60 IN CNAME web.example.com.", "web.example.com. 20 IN A 192.0.2.3"],
                                      authority: ["example.com. 300 IN NS ns.example.com."],
                                      additional: ["ns.example.com. 300 IN A 192.0.2.53"])),
            ("NXDOMAIN", .aaaa, reply(.aaaa, rcode: .nxDomain, authority: [soa])),
            ("NODATA without OPT", .aaaa, reply(.aaaa, authority: [soa], edns: nil, ra: false)),
            ("NSID and EDE", .a, {
                var m = reply(.a, answer: ["www.example.com. 300 IN A 192.0.2.1"])
                m.edns = withOptions
                return m
            }()),
            ("SERVFAIL with EDE", .a, {
                var m = reply(.a, rcode: .servFail)
                m.addExtendedError(.networkError, text: "upstream of upstream")
                return m
            }()),
            ("big", .a, reply(.a, answer: (0..<80).map { "www.example.com. 300 IN A 10.0.\($0 / 256).\($0 % 256)" })),
        ]
    }()

    static func accept(_ bytes: [UInt8], _ type: RRType) -> UpstreamReply? {
        ReplyMatcher(id: 0x1234, question: Question(name: try! DomainName("www.example.com."), type: type)).accept(bytes)
    }

    @Test("the answer written from the upstream's bytes reads as the codec path's", arguments: upstreamReplies)
    func writtenEqualsCodecPath(_ label: String, _ type: RRType, _ upstream: Message) throws {
        let bytes = WireCodec.encode(upstream)
        let reply = try #require(Self.accept(bytes, type), "\(label): accepted")
        #expect(reply.rcode == upstream.header.rcode)
        let answer = try #require(reply.clientAnswer(), "\(label): passed on in wire form")
        for edns in [nil, EDNS(udpPayloadSize: 4096), EDNS(udpPayloadSize: 512, dnssecOK: true)] as [EDNS?] {
            for (rd, cd) in [(true, false), (false, true)] {
                var query = Message.query(id: 0xA55A, name: try DomainName("wWw.ExAmple.com."), type: type, recursionDesired: rd, edns: edns)
                query.header.checkingDisabled = cd
                let queryBytes = WireCodec.encode(query)
                guard case .pass(let view) = Gate.inspect(queryBytes) else { Issue.record("the gate passes \(label)"); return }
                let expected = ForwardHandler.reply(upstream, to: query)
                for limit in [65535, view.udpLimit] {
                    var out = [UInt8](repeating: 0, count: 65535)
                    let length = try #require(queryBytes.withUnsafeBytes { q in
                        out.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0, limit: limit) }
                    })
                    let codec = WireCodec.encode(expected, maxSize: limit)
                    // The upstream's compression is the codec's here, so the cut falls at the same record.
                    #expect(try WireCodec.decode(Array(out[0..<length])) == WireCodec.decode(codec),
                            "\(label): edns \(String(describing: edns)) rd \(rd) limit \(limit)")
                    #expect(length == codec.count, "\(label): limit \(limit)")
                }
                // What a handler reads when it decodes the passed-on answer is the same message.
                let forwarded = ForwardedAnswer(answer: answer, upstream: reply, request: query)
                #expect(forwarded.message == expected, "\(label)")
            }
        }
    }

    @Test func theCacheStoresCappedTTLsAndReadsItsRulesFromTheBytes() throws {
        let (_, _, upstream) = Self.upstreamReplies[1]
        let answer = try #require(Self.accept(WireCodec.encode(upstream), .a)?.clientAnswer())
        let config = CacheConfig()
        #expect(CachePolicy.ttl(for: answer, config: config)! == CachePolicy.ttl(for: upstream, config: config)!)
        let (_, _, nx) = Self.upstreamReplies[2]
        let nxAnswer = try #require(Self.accept(WireCodec.encode(nx), .aaaa)?.clientAnswer())
        #expect(CachePolicy.ttl(for: nxAnswer, config: config)! == CachePolicy.ttl(for: nx, config: config)!)
        let capped = try WireCodec.decode(answer.cappingTTLs(at: 30).bytes)
        #expect((capped.answer + capped.authority + capped.additional).map(\.ttl) == [30, 20, 30, 30])
    }

    @Test func takesOnlyTheReplyToItsQuery() throws {
        let (_, _, upstream) = Self.upstreamReplies[0]
        let good = WireCodec.encode(upstream)
        #expect(Self.accept(good, .a) != nil)
        var mixedCase = upstream
        mixedCase.questions = [Question(name: try DomainName("WWW.Example.COM."), type: .a)]
        #expect(Self.accept(WireCodec.encode(mixedCase), .a) != nil, "0x20: the name compares ignoring case")

        var otherID = upstream; otherID.header.id = 0x1235
        var query = upstream; query.header.isResponse = false
        var otherName = upstream; otherName.questions = [Question(name: try DomainName("www.example.net."), type: .a)]
        var twoQuestions = upstream; twoQuestions.questions += twoQuestions.questions
        var otherClass = upstream; otherClass.questions = [Question(name: try DomainName("www.example.com."), type: .a, class: .chaos)]
        var shortAddress = good
        // The last record's RDLENGTH 4 → 3, and its last byte gone: well framed, but no A record.
        shortAddress[shortAddress.count - 5 - 11] = 3
        shortAddress.remove(at: shortAddress.count - 1 - 11)
        for (label, bytes) in [("other ID", WireCodec.encode(otherID)), ("a query", WireCodec.encode(query)),
                               ("other name", WireCodec.encode(otherName)), ("two questions", WireCodec.encode(twoQuestions)),
                               ("other class", WireCodec.encode(otherClass)), ("cut", Array(good.dropLast(3))),
                               ("trailing bytes", good + [0, 0]), ("A of 3 bytes", shortAddress)] {
            #expect(Self.accept(bytes, .a) == nil, "\(label)")
        }
        #expect(Self.accept(good, .aaaa) == nil, "other type")
    }

    @Test func anExtendedRcodeGoesThroughTheCodec() throws {
        var upstream = Self.upstreamReplies[0].2
        upstream.header.rcode = .badVers
        let reply = try #require(Self.accept(WireCodec.encode(upstream), .a))
        #expect(reply.rcode == .badVers)
        #expect(reply.clientAnswer() == nil)
    }
}
