import Testing
import NameExpansion
@testable import DNSWire

/// The wire form of a query.
func queryBytes(_ qname: String, _ qtype: RRType = .a, class qclass: RRClass = .in, id: UInt16 = 0xBEEF,
                edns: EDNS? = EDNS(udpPayloadSize: 4096), recursionDesired: Bool = true) -> [UInt8] {
    WireCodec.encode(.query(id: id, name: name(qname), type: qtype, class: qclass, recursionDesired: recursionDesired, edns: edns))
}

extension GateVerdict {
    var rcode: RCode? { if case .reply(_, let rcode) = self { rcode } else { nil } }
    var replyBytes: [UInt8]? { if case .reply(let bytes, _) = self { bytes } else { nil } }
    var view: QueryView? { if case .pass(let view) = self { view } else { nil } }
}

/// Sets the 16-bit field at `offset`.
func set16(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt16) {
    bytes[offset] = UInt8(value >> 8); bytes[offset + 1] = UInt8(value & 0xFF)
}

@Suite("Gate")
struct GateTests {
    // MARK: drops

    @Test("a reused name buffer gives each packet exactly the verdict a fresh one does, even after a longer name or a view that still holds it")
    func reusedNameBufferChangesNoVerdict() {
        let packets: [[UInt8]] = [
            queryBytes("A-Very-Long-Service-Name.Some-Namespace.svc.cluster.local."), queryBytes("Short."),
            [0x12], queryBytes("x.example.", .aaaa, edns: nil), queryBytes("."), queryBytes("id.server.", .txt, class: .chaos),
            queryBytes("MiXeD.Example.COM.", .mx),
        ]
        var buffer: [UInt8] = []
        var held: [(packet: [UInt8], view: QueryView)] = []
        for (n, packet) in (packets + packets.reversed()).enumerated() {
            let reused = packet.withUnsafeBytes { Gate.inspect($0, nameBuffer: &buffer) }
            #expect(reused == Gate.inspect(packet), "packet \(n)")
            // Every other view is kept: later packets must not write into a name a view still holds.
            if n % 2 == 0, let view = reused.view { held.append((packet, view)) }
        }
        #expect(held.count >= 4)
        for (packet, view) in held { #expect(view == Gate.inspect(packet).view) }
    }

    @Test func dropsPacketsShorterThanAHeader() {
        #expect(Gate.inspect([UInt8](repeating: 0, count: 11)) == .drop(.tooShort))
        #expect(Gate.inspect([]) == .drop(.tooShort))
    }

    @Test func dropsResponses() {
        var bytes = queryBytes("web.example.")
        bytes[2] |= 0x80
        #expect(Gate.inspect(bytes) == .drop(.isResponse))
    }

    // MARK: NOTIMP

    @Test func otherOpcodesGetNOTIMPEchoingIDOpcodeRDAndQuestion() throws {
        var bytes = queryBytes("Web.Example.")
        bytes[2] = (bytes[2] & 0x87) | (Opcode.notify.rawValue << 3)
        let verdict = Gate.inspect(bytes)
        #expect(verdict.rcode == .notImp)
        let reply = try WireCodec.decode(try #require(verdict.replyBytes))
        #expect(reply.header.id == 0xBEEF && reply.header.isResponse && reply.header.opcode == .notify)
        #expect(reply.header.recursionDesired)
        #expect(reply.questions.first?.name.labels == ["Web", "Example"])
        #expect(reply.edns == EDNS(udpPayloadSize: 1232))
    }

    // MARK: FORMERR

    static func formErrCases() -> [(String, [UInt8])] {
        let base = queryBytes("web.example.", edns: nil)
        let withOPT = queryBytes("web.example.")
        var cases: [(String, [UInt8])] = []
        func add(_ label: String, _ bytes: [UInt8] = base, _ edit: (inout [UInt8]) -> Void) {
            var b = bytes; edit(&b); cases.append((label, b))
        }
        add("QDCOUNT 0") { set16(&$0, 4, 0); $0.removeSubrange(12...) }
        add("QDCOUNT 2") { set16(&$0, 4, 2); $0 += $0[12...] }
        add("ANCOUNT 1") { set16(&$0, 6, 1); $0 += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1] }
        add("NSCOUNT 1") { set16(&$0, 8, 1); $0 += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1] }
        add("QDCOUNT says 1, no question") { $0.removeSubrange(12...) }
        add("question cut short") { $0.removeLast(3) }
        add("question name runs off the end") { $0 = Array($0[0..<16]) }
        add("forward pointer in the question") { $0 = Array($0[0..<12]) + [0xC0, 14, 0, 0, 1, 0, 1] }
        add("pointer into the header") { $0 = Array($0[0..<12]) + [3, 0x77, 0x65, 0x62, 0xC0, 4, 0, 1, 0, 1] }
        add("pointer to itself") { $0 = Array($0[0..<12]) + [0xC0, 12, 0, 1, 0, 1] }
        add("label of 64 octets (extended label type)") { $0 = Array($0[0..<12]) + [64] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1] }
        add("label type 0x80") { $0 = Array($0[0..<12]) + [0x80, 0x61, 0, 0, 1, 0, 1] }
        add("name longer than 255 octets") {
            $0 = Array($0[0..<12]) + (0..<5).flatMap { _ in [UInt8(50)] + [UInt8](repeating: 0x61, count: 50) } + [0, 0, 1, 0, 1]
        }
        add("trailing garbage") { $0 += [0] }
        add("two OPT records", withOPT) { set16(&$0, 10, 2); $0 += [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0] }
        add("OPT owner not root", withOPT) { $0[$0.count - 11] = 0xC0; $0.insert(12, at: $0.count - 10) }
        add("OPT owner a looping pointer", withOPT) { let at = $0.count - 11; $0[at] = 0xC0; $0.insert(UInt8(at), at: at + 1) }
        add("OPT record cut short", withOPT) { $0.removeLast(1) }
        add("OPT option overruns the record", withOPT) { set16(&$0, $0.count - 2, 4); $0 += [0, 15, 0, 9] }
        add("additional record other than OPT") { set16(&$0, 10, 1); $0 += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1] }
        for type in [RRType.opt, .tkey, .tsig, .maila, .mailb, RRType(128), RRType(200), RRType(0)] {
            cases.append(("meta type \(type)", queryBytes("web.example.", type, edns: nil)))
        }
        return cases
    }

    @Test("FORMERR", arguments: formErrCases())
    func formErr(_ label: String, _ bytes: [UInt8]) throws {
        let verdict = Gate.inspect(bytes)
        #expect(verdict.rcode == .formErr, "\(label): \(verdict)")
        let reply = try WireCodec.decode(try #require(verdict.replyBytes))
        #expect(reply.header.id == 0xBEEF && reply.header.isResponse && reply.header.rcode == .formErr)
    }

    @Test func formErrEchoesAReadableQuestionButNoOPTFromAMalformedQuery() throws {
        var bytes = queryBytes("MiXeD.example.")
        bytes += [0]  // trailing garbage
        let reply = try WireCodec.decode(try #require(Gate.inspect(bytes).replyBytes))
        #expect(reply.questions.first?.name.labels == ["MiXeD", "example"])
        #expect(reply.edns == nil)
    }

    // MARK: BADVERS

    @Test func ednsVersionOtherThanZeroGetsBADVERSWithAVersionZeroOPT() throws {
        let bytes = queryBytes("web.example.", edns: EDNS(udpPayloadSize: 4096, version: 1, dnssecOK: true))
        let verdict = Gate.inspect(bytes)
        #expect(verdict.rcode == .badVers)
        let reply = try WireCodec.decode(try #require(verdict.replyBytes))
        #expect(reply.header.rcode == .badVers)
        #expect(reply.edns == EDNS(udpPayloadSize: 1232, version: 0, dnssecOK: true))
        // The same bytes the codec renders for the equivalent response.
        let query = try WireCodec.decode(bytes)
        #expect(verdict.replyBytes == WireCodec.encode(Message.response(to: query, rcode: .badVers)))
    }

    // MARK: REFUSED and class rules

    @Test("classes other than IN are REFUSED", arguments: [RRClass.chaos, .hesiod, .any, .none, RRClass(42)])
    func otherClassesRefused(_ qclass: RRClass) {
        #expect(Gate.inspect(queryBytes("web.example.", .a, class: qclass)).rcode == .refused)
    }

    @Test("CH TXT identity names pass only when identity is on", arguments: ["id.server.", "HOSTNAME.bind."])
    func identityNames(_ qname: String) {
        let bytes = queryBytes(qname, .txt, class: .chaos)
        #expect(Gate.inspect(bytes, identityNames: false).rcode == .refused)
        #expect(Gate.inspect(bytes, identityNames: true).view?.qclass == .chaos)
        #expect(Gate.inspect(queryBytes(qname, .a, class: .chaos), identityNames: true).rcode == .refused)
        #expect(Gate.inspect(queryBytes("version.bind.", .txt, class: .chaos), identityNames: true).rcode == .refused)
    }

    @Test("zone transfers are REFUSED", arguments: [RRType.axfr, .ixfr])
    func transfersRefused(_ qtype: RRType) {
        #expect(Gate.inspect(queryBytes("cluster.local.", qtype)).rcode == .refused)
    }

    @Test func refusedEqualsTheCodecsRenderingOfTheResponse() throws {
        let bytes = queryBytes("Cluster.Local.", .axfr, edns: EDNS(udpPayloadSize: 512, dnssecOK: true))
        let query = try WireCodec.decode(bytes)
        #expect(Gate.inspect(bytes).replyBytes == WireCodec.encode(Message.response(to: query, rcode: .refused)))
    }

    // MARK: pass

    @Test func anyPasses() {
        #expect(Gate.inspect(queryBytes("web.example.", .any)).view?.qtype == .any)
    }

    @Test func passFillsTheView() throws {
        var options = EDNS(udpPayloadSize: 4096, dnssecOK: true)
        options.options = [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]  // a client cookie
        var bytes = queryBytes("NGINX.MyNamespace.MyFederation.", .aaaa, id: 77, edns: options)
        bytes[3] |= 0x10  // CD
        let view = try #require(Gate.inspect(bytes).view)
        #expect(view.id == 77 && view.opcode == .query && view.recursionDesired && view.checkingDisabled)
        #expect(view.qtype == .aaaa && view.qclass == .in)
        #expect(view.questionEnd == 12 + name("nginx.mynamespace.myfederation.").wireLength + 4)
        #expect(view.lowercasedWireName == RData.name(name("nginx.mynamespace.myfederation.")))
        #expect(view.edns == options)
        #expect(view.udpLimit == 1232)
    }

    @Test func udpLimitFollowsTheClientWithinBounds() throws {
        #expect(try #require(Gate.inspect(queryBytes("a.example.", edns: nil)).view).udpLimit == 512)
        #expect(try #require(Gate.inspect(queryBytes("a.example.", edns: EDNS(udpPayloadSize: 100))).view).udpLimit == 512)
        #expect(try #require(Gate.inspect(queryBytes("a.example.", edns: EDNS(udpPayloadSize: 900))).view).udpLimit == 900)
    }

    @Test func opt_ownerMayBeAPointerToARootLabel() throws {
        var bytes = queryBytes("web.example.")
        let at = bytes.count - 11
        bytes[at] = 0xC0
        bytes.insert(UInt8(12 + name("web.example.").wireLength - 1), at: at + 1)  // the question's root byte
        #expect(Gate.inspect(bytes).view != nil)
    }

    // MARK: compression pointer walking

    /// A header, a root label at 12, then `hops` pointers each to the one before; returns the buffer
    /// and the offset of a name that is one more pointer to the last of them.
    static func pointerChain(hops: Int) -> ([UInt8], Int) {
        var bytes = [UInt8](repeating: 0, count: 12) + [0]
        var previous = 12
        for _ in 0..<(hops - 1) {
            let here = bytes.count
            bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            previous = here
        }
        let start = bytes.count
        bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
        return (bytes, start)
    }

    @Test func atMost128PointerHops() {
        let (ok, okStart) = Self.pointerChain(hops: 128)
        #expect(ok.withUnsafeBytes { WireWalk($0).name(at: okStart) }?.end == okStart + 2)
        let (tooMany, start) = Self.pointerChain(hops: 129)
        #expect(tooMany.withUnsafeBytes { WireWalk($0).name(at: start) } == nil)
    }

    @Test func pointersOnlyGoBackwards() {
        // "a" at 12 followed by a pointer back to 12: a loop although the pointer points backwards.
        let loop: [UInt8] = [UInt8](repeating: 0, count: 12) + [1, 0x61, 0xC0, 12]
        #expect(loop.withUnsafeBytes { WireWalk($0).name(at: 12) } == nil)
        let forward: [UInt8] = [UInt8](repeating: 0, count: 12) + [0, 1, 0x61, 0xC0, 17, 0]
        #expect(forward.withUnsafeBytes { WireWalk($0).name(at: 13) } == nil)
        let backward: [UInt8] = [UInt8](repeating: 0, count: 12) + [0, 1, 0x61, 0xC0, 12]
        #expect(backward.withUnsafeBytes { WireWalk($0).name(at: 13) }?.end == 17)
    }
}

extension WireWalk.Name: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.end == b.end && a.isRoot == b.isRoot }
}
