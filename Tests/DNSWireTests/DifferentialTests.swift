import Testing
import Clocks
import CLDNS
import NameExpansion
@testable import DNSWire

/// What ldns itself reads from a packet, straight from its structures (no Swift conversion).
struct LDNSQuestion: Equatable {
    var id: UInt16, wireName: [UInt8], type: UInt16, `class`: UInt16
    var hasEDNS: Bool, udpSize: UInt16, dnssecOK: Bool

    init?(_ bytes: [UInt8]) {
        var raw: UnsafeMutablePointer<ldns_pkt>?
        guard bytes.withUnsafeBufferPointer({ ldns_wire2pkt(&raw, $0.baseAddress, $0.count) }) == LDNS_STATUS_OK,
              let packet = raw else { return nil }
        defer { ldns_pkt_free(packet) }
        guard let list = ldns_pkt_question(packet), ldns_rr_list_rr_count(list) == 1,
              let question = ldns_rr_list_rr(list, 0), let owner = ldns_rr_owner(question) else { return nil }
        id = ldns_pkt_id(packet)
        wireName = Array(UnsafeBufferPointer(start: ldns_rdf_data(owner), count: ldns_rdf_size(owner)))
            .map { $0 &- 65 < 26 ? $0 | 0x20 : $0 }
        type = UInt16(ldns_rr_get_type(question).rawValue)
        `class` = UInt16(ldns_rr_get_class(question).rawValue)
        hasEDNS = packet.pointee._edns_present != 0
        udpSize = ldns_pkt_edns_udp_size(packet)
        dnssecOK = ldns_pkt_edns_do(packet)
    }
}

@Suite("Differential: the gate and the fast path agree with ldns")
struct DifferentialTests {
    static let labels = ["nginx", "MyNamespace", "myfederation", "svc", "Cluster", "local", "a", "xn--bcher-kva",
                         "_http", "_tcp", "10-0-0-1", "EXAMPLE", "com", "in-addr", "arpa"]
    static let types: [RRType] = [.a, .aaaa, .srv, .txt, .ptr, .cname, .any, .soa, .ns, .mx, .https, RRType(65534),
                                  .axfr, .ixfr, .opt, .tsig, .maila, RRType(200), RRType(0)]

    static func randomQuery(_ g: inout SeededGenerator) -> [UInt8] {
        let count = Int.random(in: 0...6, using: &g)
        var labels = (0..<count).map { _ in Self.labels.randomElement(using: &g)! }
        if Bool.random(using: &g) && !labels.isEmpty {
            // A label of random octets, case bits and all.
            labels[0] = String(decoding: (0..<Int.random(in: 1...20, using: &g)).map { _ in UInt8.random(in: 0x21...0x7E, using: &g) }, as: UTF8.self)
        }
        let qclass: RRClass = [.in, .in, .in, .in, .chaos, .any, RRClass(42)].randomElement(using: &g)!
        var edns: EDNS? = nil
        if Int.random(in: 0..<3, using: &g) > 0 {
            edns = EDNS(udpPayloadSize: [0, 512, 1232, 4096, 65535].randomElement(using: &g)!,
                        version: Int.random(in: 0..<8, using: &g) == 0 ? 1 : 0, dnssecOK: Bool.random(using: &g))
            for _ in 0..<Int.random(in: 0...2, using: &g) {
                edns!.options.append(EDNSOption(code: [10, 15, 8, 65001].randomElement(using: &g)!,
                                                data: (0..<Int.random(in: 0...12, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }))
            }
        }
        var m = Message.query(id: UInt16.random(in: 0...UInt16.max, using: &g), name: DomainName(labels: labels),
                              type: types.randomElement(using: &g)!, class: qclass,
                              recursionDesired: Bool.random(using: &g), edns: edns)
        m.header.checkingDisabled = Bool.random(using: &g)
        if Int.random(in: 0..<10, using: &g) == 0 { m.header.opcode = .notify }
        return WireCodec.encode(m)
    }

    static func mutate(_ bytes: inout [UInt8], _ g: inout SeededGenerator) {
        guard !bytes.isEmpty else { return }
        switch Int.random(in: 0..<9, using: &g) {
        case 0:  // flip bits
            for _ in 0..<Int.random(in: 1...3, using: &g) { bytes[Int.random(in: 0..<bytes.count, using: &g)] ^= UInt8.random(in: 1...255, using: &g) }
        case 1:  // cut
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &g))
        case 2:  // append
            bytes += (0..<Int.random(in: 1...12, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
        case 3:  // a count field
            if bytes.count >= 12 { bytes[Int.random(in: 4...11, using: &g)] = UInt8.random(in: 0...3, using: &g) }
        case 4:  // a compression pointer somewhere
            if bytes.count >= 14 {
                let at = Int.random(in: 12..<(bytes.count - 1), using: &g)
                bytes[at] = 0xC0; bytes[at + 1] = UInt8.random(in: 0...UInt8(min(255, bytes.count + 4)), using: &g)
            }
        case 5:  // a length-ish byte
            bytes[Int.random(in: 0..<bytes.count, using: &g)] = [0, 1, 63, 64, 0x80, 0xBF, 0xC0, 0xFF].randomElement(using: &g)!
        case 6:  // a second OPT record
            bytes += [0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]
            if bytes.count >= 12 { bytes[11] &+= 1 }
        case 7:  // another record in the additional section, its rdata random
            let type = [1, 2, 6, 15, 16, 28, 33, 250, 65534].randomElement(using: &g)!
            let rdata = (0..<Int.random(in: 0...8, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            bytes += [0, 0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 5, 0, UInt8(rdata.count)] + rdata
            if bytes.count >= 12 { bytes[11] &+= 1 }
        default:  // random bytes outright
            bytes = (0..<Int.random(in: 0...64, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            if bytes.count > 5 && Bool.random(using: &g) { bytes[2] &= 0x07; bytes[4] = 0; bytes[5] = 1 }
        }
    }

    /// The forwarder's upstream queries are written by hand; every byte must be what ldns writes.
    @Test("a recursive query written by hand equals ldns's rendering", arguments: [1, 2] as [UInt64])
    func recursiveQueryAgreesWithLDNS(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for round in 0..<2000 {
            var labels = (0..<Int.random(in: 0...6, using: &g)).map { _ in Self.labels.randomElement(using: &g)! }
            if Bool.random(using: &g) && !labels.isEmpty {
                // Octets of any value, as a label that arrived on the wire (0x80 and above included).
                labels[0] = DomainName.label(wireBytes: (0..<Int.random(in: 1...63, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) })
            }
            let question = Question(name: DomainName(labels: labels), type: Self.types.randomElement(using: &g)!,
                                    class: [.in, .chaos, .any, RRClass(42)].randomElement(using: &g)!)
            let id = UInt16.random(in: 0...UInt16.max, using: &g), size = [512, 1232, 4096].randomElement(using: &g)! as UInt16
            let dnssecOK = Bool.random(using: &g), checkingDisabled = Bool.random(using: &g)
            var m = Message.query(id: id, name: question.name, type: question.type, class: question.class,
                                  edns: EDNS(udpPayloadSize: size, dnssecOK: dnssecOK))
            m.header.checkingDisabled = checkingDisabled
            let byHand = WireCodec.recursiveQuery(id: id, question, udpPayloadSize: size, dnssecOK: dnssecOK, checkingDisabled: checkingDisabled)
            #expect(byHand == WireCodec.encode(m), "seed \(seed) round \(round): \(question)")
        }
    }

    @Test("whenever the gate passes a packet, ldns reads the same query", arguments: [1, 2, 3, 4] as [UInt64])
    func gateAgreesWithLDNS(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var passed = 0, replied = 0, dropped = 0
        for round in 0..<3000 {
            var bytes = Self.randomQuery(&g)
            for _ in 0..<Int.random(in: 0...2, using: &g) { Self.mutate(&bytes, &g) }
            let verdict = Gate.inspect(bytes, identityNames: Bool.random(using: &g))
            switch verdict {
            case .pass(let view):
                passed += 1
                let ldns = try #require(LDNSQuestion(bytes), "seed \(seed) round \(round): gate passed what ldns rejects: \(bytes)")
                #expect(ldns.id == view.id)
                #expect(ldns.wireName == view.lowercasedWireName, "seed \(seed) round \(round)")
                #expect(ldns.type == view.qtype.rawValue && ldns.class == view.qclass.rawValue)
                #expect(ldns.hasEDNS == (view.edns != nil))
                if let e = view.edns { #expect(ldns.udpSize == e.udpPayloadSize && ldns.dnssecOK == e.dnssecOK) }
                var decoded = try WireCodec.decode(bytes)
                #expect(decoded.questions.count == 1 && decoded.edns == view.edns)
                // The server builds the query from the view instead of decoding it again: same message,
                // but for extended RCODE bits, which a query does not carry.
                decoded.header.rcode = RCode(decoded.header.rcode.rawValue & 0x0F)
                let built = bytes.withUnsafeBytes { Message(gatedQuery: $0, view: view) }
                #expect(built == decoded, "seed \(seed) round \(round)")
                #expect(built.questions.map(\.name.labels) == decoded.questions.map(\.name.labels), "the question keeps its case")
                // Labels are octets: whatever arrived (non-UTF-8 included) goes back out unchanged.
                #expect(RData.name(built.questions[0].name) == Array(bytes[12..<(view.questionEnd - 4)]), "seed \(seed) round \(round)")
            case .reply(let reply, let rcode):
                replied += 1
                let message = try WireCodec.decode(reply)
                #expect(message.header.isResponse && message.header.rcode == rcode)
                #expect(message.header.id == UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
                if message.questions.count == 1 {
                    // Measured on the wire: labels that are not UTF-8 do not survive DomainName.
                    let end = try #require(reply.withUnsafeBytes { WireWalk($0).name(at: 12) }).end + 4
                    #expect(Array(reply[12..<end]) == Array(bytes[12..<end]), "the question echoes byte for byte")
                }
            case .drop:
                dropped += 1
            }
        }
        // The generator must exercise every outcome, or the property says little.
        #expect(passed > 300 && replied > 300 && dropped > 10, "passed \(passed) replied \(replied) dropped \(dropped)")
    }
}

@Suite("PrerenderedAnswer")
struct PrerenderedAnswerTests {
    /// Responses as the resolver would build them for the lower-cased name.
    static let answers: [(String, RRType, Message)] = [
        ("nginx.mynamespace.svc.cluster.local.", .a,
         response("nginx.mynamespace.svc.cluster.local.", .a, answer: ["nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.0.10"])),
        ("headless.ns.svc.cluster.local.", .a,
         response("headless.ns.svc.cluster.local.", .a, answer: TruncationTests.addresses("headless.ns.svc.cluster.local.", 12))),
        ("nginx.mynamespace.myfederation.svc.cluster.local.", .a,
         response("nginx.mynamespace.myfederation.svc.cluster.local.", .a,
                  answer: ["nginx.mynamespace.myfederation.svc.cluster.local. 5 IN CNAME nginx.mynamespace.myfederation.svc.us-central1-a.example.com."])),
        ("_http._tcp.nginx.mynamespace.svc.cluster.local.", .srv,
         response("_http._tcp.nginx.mynamespace.svc.cluster.local.", .srv,
                  answer: ["_http._tcp.nginx.mynamespace.svc.cluster.local. 5 IN SRV 0 100 80 nginx.mynamespace.svc.cluster.local."],
                  additional: ["nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.0.10"])),
        ("nope.mynamespace.svc.cluster.local.", .aaaa,
         response("nope.mynamespace.svc.cluster.local.", .aaaa,
                  authority: ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"], rcode: .nxDomain)),
        ("nginx.mynamespace.svc.cluster.local.", .a, {
            var m = response("nginx.mynamespace.svc.cluster.local.", .a, edns: EDNS(), rcode: .servFail)
            m.addExtendedError(.notReady, text: "cluster state not synced")
            return m
        }()),
    ]

    /// The name with every other letter upper-cased.
    static func mixedCase(_ text: String) -> String {
        String(text.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
    }

    /// Big answers: cut over a UDP limit to the records that fit, the same way as the codec.
    static let bigAnswers: [(String, RRType, Message)] = [
        ("kafka.default.svc.cluster.local.", .a,
         response("kafka.default.svc.cluster.local.", .a, answer: TruncationTests.addresses("kafka.default.svc.cluster.local.", 300))),
        ("_broker._tcp.kafka.default.svc.cluster.local.", .srv,
         response("_broker._tcp.kafka.default.svc.cluster.local.", .srv,
                  answer: (0..<60).map { "_broker._tcp.kafka.default.svc.cluster.local. 5 IN SRV 0 1 9092 kafka-\($0).kafka.default.svc.cluster.local." },
                  additional: (0..<60).map { "kafka-\($0).kafka.default.svc.cluster.local. 5 IN A 10.244.0.\($0)" })),
        ("nope.mynamespace.svc.cluster.local.", .aaaa, {
            var m = response("nope.mynamespace.svc.cluster.local.", .aaaa,
                             authority: TruncationTests.addresses("cluster.local.", 40), edns: EDNS(), rcode: .nxDomain)
            m.addExtendedError(.notReady, text: "cluster state not synced")
            return m
        }()),
    ]

    @Test("write equals the codec's rendering of the full response", arguments: answers + bigAnswers)
    func writeEqualsEncode(_ qname: String, _ qtype: RRType, _ response: Message) throws {
        let answer = PrerenderedAnswer(rendering: response)
        for edns in [nil, EDNS(udpPayloadSize: 4096), EDNS(udpPayloadSize: 512, dnssecOK: true), EDNS(udpPayloadSize: 700)] as [EDNS?] {
            for (rd, cd) in [(true, false), (false, true)] {
                var query = Message.query(id: 0xA55A, name: name(Self.mixedCase(qname)), type: qtype, recursionDesired: rd, edns: edns)
                query.header.checkingDisabled = cd
                let bytes = WireCodec.encode(query)
                let view = try #require(Gate.inspect(bytes).view)

                var full = Message.response(to: query, rcode: response.header.rcode)
                full.answer = response.answer; full.authority = response.authority; full.additional = response.additional
                full.header.authoritative = response.header.authoritative
                if edns != nil { full.edns?.options = response.edns?.options ?? [] }
                for limit in [65535, view.udpLimit] {
                    let expected = WireCodec.encode(full, maxSize: limit)
                    var out = [UInt8](repeating: 0, count: 65535)
                    let length = bytes.withUnsafeBytes { q in
                        out.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0, limit: limit) }
                    }
                    #expect(length.map { Array(out[0..<$0]) } == expected,
                            "\(qname) edns \(String(describing: edns)) rd \(rd) limit \(limit)")
                    #expect(try WireCodec.decode(expected).questions[0].name.labels == query.questions[0].name.labels)
                }
            }
        }
    }

    @Test func cutsAtTheLimitAndRefusesWhatWouldExceedTheBuffer() throws {
        let answer = PrerenderedAnswer(rendering: response("big.example.", .a, answer: TruncationTests.addresses("big.example.", 40)))
        let bytes = WireCodec.encode(.query(id: 1, name: name("big.example."), type: .a, edns: nil))
        let view = try #require(Gate.inspect(bytes).view)
        #expect(answer.size(for: view) > 512)
        var out = [UInt8](repeating: 0, count: 2048)
        let cut = bytes.withUnsafeBytes { q in out.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0, limit: view.udpLimit) } }
        let decoded = try WireCodec.decode(Array(out[0..<(try #require(cut))]))
        #expect(decoded.header.truncated && decoded.answer.count == 30, "12 + 17 + 30 × 16 = 509 bytes")
        #expect(bytes.withUnsafeBytes { q in out.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0) } } == answer.size(for: view))
        var small = [UInt8](repeating: 0, count: 100)
        #expect(bytes.withUnsafeBytes { q in small.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0) } } == nil)
    }

    @Test func refusesAQuestionOfAnotherLength() throws {
        let answer = PrerenderedAnswer(rendering: response("a.example.", .a, answer: ["a.example. 5 IN A 10.0.0.1"]))
        let bytes = WireCodec.encode(.query(id: 1, name: name("ab.example."), type: .a))
        let view = try #require(Gate.inspect(bytes).view)
        var out = [UInt8](repeating: 0, count: 512)
        #expect(bytes.withUnsafeBytes { q in out.withUnsafeMutableBytes { answer.write(query: q, view: view, into: $0) } } == nil)
    }
}
