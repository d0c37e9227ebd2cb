import Testing
import NameExpansion
@testable import DNSWire

func rr(_ text: String) -> ResourceRecord { try! ResourceRecord(zoneText: text) }
func name(_ text: String) -> DomainName { try! DomainName(text) }

/// A response to a query for `qname`/`qtype` carrying the given records.
func response(_ qname: String, _ qtype: RRType, answer: [String] = [], authority: [String] = [],
              additional: [String] = [], edns: EDNS? = nil, rcode: RCode = .noError) -> Message {
    var m = Message.response(to: .query(id: 0x1234, name: name(qname), type: qtype, edns: edns), rcode: rcode)
    m.answer = answer.map(rr)
    m.authority = authority.map(rr)
    m.additional = additional.map(rr)
    return m
}

@Suite("WireCodec")
struct CodecTests {
    static let roundTrips: [(String, Message)] = [
        ("A", response("web.example.", .a, answer: ["web.example. 5 IN A 10.0.0.1", "web.example. 5 IN A 10.0.0.2"])),
        ("AAAA", response("web.example.", .aaaa, answer: ["web.example. 5 IN AAAA fd00::1"])),
        ("CNAME chain", response("www.example.", .a, answer: ["www.example. 30 IN CNAME web.example.", "web.example. 5 IN A 10.0.0.1"])),
        ("SRV", response("_http._tcp.web.ns.svc.cluster.local.", .srv,
                         answer: ["_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 0 100 80 web.ns.svc.cluster.local."],
                         additional: ["web.ns.svc.cluster.local. 5 IN A 10.96.0.10"])),
        ("TXT", response("dns-version.cluster.local.", .txt, answer: ["dns-version.cluster.local. 28800 IN TXT \"1.1.0\" \"two words\""])),
        ("SOA NXDOMAIN", response("nope.cluster.local.", .a,
                                  authority: ["cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"],
                                  rcode: .nxDomain)),
        ("PTR", response("1.0.0.10.in-addr.arpa.", .ptr, answer: ["1.0.0.10.in-addr.arpa. 5 IN PTR web.ns.svc.cluster.local."])),
        ("unknown type", response("x.example.", RRType(65534), answer: ["x.example. 60 IN TYPE65534 \\# 3 010203"])),
        ("OPT with EDE", {
            var m = response("x.example.", .a, edns: EDNS(udpPayloadSize: 4096, dnssecOK: true), rcode: .servFail)
            m.addExtendedError(.noReachableAuthority, text: "upstream down")
            return m
        }()),
        ("extended rcode BADVERS", response("x.example.", .a, edns: EDNS(), rcode: .badVers)),
        ("flags", {
            var m = response("x.example.", .a, answer: ["x.example. 1 IN A 192.0.2.1"])
            m.header.authoritative = true; m.header.authenticData = true; m.header.checkingDisabled = true
            m.header.opcode = .notify
            return m
        }()),
    ]

    @Test("decode(encode(m)) == m", arguments: roundTrips)
    func roundTrip(_ label: String, _ message: Message) throws {
        let decoded = try WireCodec.decode(WireCodec.encode(message))
        #expect(decoded == message, "\(label)\n\(decoded)\n---\n\(message)")
        #expect(decoded.edns?.options == message.edns?.options)
        #expect(decoded.header.rcode == message.header.rcode)
    }

    @Test func questionKeepsItsCaseByteForByte() throws {
        let query = Message.query(id: 7, name: name("NgInX.MyNamespace.svc.Cluster.Local."), type: .a)
        let bytes = WireCodec.encode(query)
        let questionEnd = 12 + query.questions[0].name.wireLength + 4
        #expect(bytes.contains(subsequence: Array("NgInX".utf8)))
        let decoded = try WireCodec.decode(bytes)
        #expect(decoded.questions[0].name.labels == ["NgInX", "MyNamespace", "svc", "Cluster", "Local"])
        var reply = Message.response(to: decoded)
        reply.answer = [rr("nginx.mynamespace.svc.cluster.local. 5 IN A 10.0.0.1")]
        let replyBytes = WireCodec.encode(reply)
        #expect(Array(replyBytes[12..<questionEnd]) == Array(bytes[12..<questionEnd]))
    }

    @Test func namesInRdataAreCompressedWhereRFC3597AllowsIt() {
        let cname = response("www.ns.svc.cluster.local.", .a, answer: ["www.ns.svc.cluster.local. 5 IN CNAME web.ns.svc.cluster.local."])
        // header 12 + question 30 + owner pointer 2 + fixed 10 + target "web" and a pointer 6
        #expect(WireCodec.encode(cname).count == 12 + 30 + 2 + 10 + 6)
        // RFC 2782: the SRV target is never compressed.
        let srv = response("_http._tcp.web.ns.svc.cluster.local.", .srv,
                           answer: ["_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 0 100 80 web.ns.svc.cluster.local."])
        #expect(WireCodec.encode(srv).count == 12 + 41 + 2 + 10 + 6 + 26)
    }

    @Test func malformedInputIsAnError() {
        #expect(throws: WireError.self) { try WireCodec.decode([0, 1, 2]) }
        var bytes = WireCodec.encode(response("x.example.", .a, answer: ["x.example. 1 IN A 192.0.2.1"]))
        bytes.removeLast(2)
        #expect(throws: WireError.self) { try WireCodec.decode(bytes) }
    }

    @Test func rdataLongerThanItsTypeIsAnError() {
        // An A record whose RDLENGTH says 5: ldns alone would read 4 and lose its place.
        var bytes = WireCodec.encode(response("x.example.", .a, answer: ["x.example. 1 IN A 192.0.2.1"]))
        bytes[bytes.count - 5] = 5
        bytes.append(0)
        #expect(throws: WireError.self) { try WireCodec.decode(bytes) }
    }

    @Test func twoOPTRecordsAreAnError() {
        var bytes = WireCodec.encode(.query(id: 1, name: name("x.example."), type: .a))
        bytes += [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]
        bytes[11] = 2
        #expect(throws: WireError.self) { try WireCodec.decode(bytes) }
    }

    /// Found by fuzzing: labels are octets (RFC 2181 §11), so a question whose labels are not UTF-8
    /// must come back byte for byte — and stay a readable message.
    @Test func labelsThatAreNotUTF8RoundTripByteForByte() throws {
        let label: [UInt8] = [0xCC, 0xCB, 0x00, 0x41, 0xFF]
        var query = WireCodec.encode(.query(id: 7, name: name("x.example."), type: .a, edns: nil))
        query.replaceSubrange(12..<14, with: [UInt8(label.count)] + label)   // "x" → the binary label
        let decoded = try WireCodec.decode(query)
        #expect(RData.name(decoded.questions[0].name) == [UInt8(label.count)] + label + Array("\u{7}example\u{0}".utf8))
        let answer = WireCodec.encode(Message.response(to: decoded, rcode: .nxDomain))
        #expect(Array(answer[12..<(12 + query.count - 12)]) == Array(query[12...]), "the question is echoed byte for byte")
        #expect(try WireCodec.decode(answer).questions == decoded.questions)
        #expect(decoded.questions[0].name.description == "\\204\\203\\000A\\255.example.")
    }

    /// Found by fuzzing (scripts/fuzz.sh): ldns keeps only the last of several TSIG records and leaks
    /// the rest, so a TSIG anywhere but last is refused before ldns sees it (RFC 8945 §5.1).
    @Test func aTSIGThatIsNotTheLastRecordIsAnError() throws {
        let tsigWithNoRdata: [UInt8] = [0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0]
        var bytes = WireCodec.encode(response("x.example.", .a, answer: ["x.example. 1 IN A 192.0.2.1"]))
        bytes += tsigWithNoRdata + tsigWithNoRdata
        bytes[11] = 2
        #expect(throws: WireError("a TSIG record that is not the last record")) { try WireCodec.decode(bytes) }
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { self[$0..<($0 + subsequence.count)].elementsEqual(subsequence) }
    }
}
