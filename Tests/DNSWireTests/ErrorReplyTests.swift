import NameExpansion
import Testing
@testable import DNSWire

/// One builder for every hand-made error reply, and one OPT writer for every hand-made OPT.
@Suite struct ErrorReplyTests {
    @Test("every error reply the gate and the server build: QR, RA, ID/opcode/RD/CD echoed, AA/TC clear; ldns reads the same",
          arguments: [RCode.formErr, .servFail, .notImp, .refused, .badVers], [false, true])
    func shape(_ rcode: RCode, _ withEDNS: Bool) throws {
        var query = Message.query(id: 0xABCD, name: name("Mixed.Case.example."), type: .aaaa,
                                  edns: withEDNS ? EDNS(udpPayloadSize: 4096, dnssecOK: true) : nil)
        query.header.checkingDisabled = true
        query.header.authoritative = true   // a client's stray AA is not echoed
        let bytes = WireCodec.encode(query)
        let view = try #require(Gate.inspect(bytes).view)
        let reply = bytes.withUnsafeBytes { ErrorReply.make(query: $0, view: view, rcode: rcode) }
        let m = try WireCodec.decode(reply)
        #expect(m.header.id == 0xABCD && m.header.isResponse && m.header.opcode == .query)
        #expect(m.header.recursionAvailable && m.header.recursionDesired && m.header.checkingDisabled)
        #expect(!m.header.authoritative && !m.header.truncated)
        #expect(m.questions == query.questions && Array(reply[12..<view.questionEnd]) == Array(bytes[12..<view.questionEnd]))
        // Without OPT an extended rcode cannot be told: only its low bits travel.
        #expect(m.header.rcode == (withEDNS ? rcode : RCode(rcode.rawValue & 0x0F)))
        #expect(m.edns == (withEDNS ? EDNS(udpPayloadSize: 1232, dnssecOK: true) : nil))
    }

    @Test("without a readable question the reply has none")
    func noQuestion() throws {
        let header: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
        let reply = header.withUnsafeBytes { ErrorReply.make(query: $0, questionEnd: nil, edns: nil, rcode: .formErr) }
        #expect(reply == [0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("the OPT writer agrees with ldns: payload 1232, version 0, DO, extended rcode, options", arguments: [
        (RCode.noError, false, [EDNSOption]()), (.badVers, true, []), (.servFail, true, [EDNSOption.extendedError(.networkError, text: "x")]),
        (.nxDomain, false, [EDNSOption.extendedError(.staleAnswer), EDNSOption.extendedError(.notReady, text: "not synced")]),
    ])
    func optAgreesWithLDNS(_ rcode: RCode, _ dnssecOK: Bool, _ options: [EDNSOption]) throws {
        var m = Message.response(to: .query(id: 7, name: name("a.example."), type: .a, edns: nil), rcode: .noError)
        var packet = WireCodec.encode(m)
        let wireOptions = options.flatMap { RData.be16($0.code) + RData.be16(UInt16($0.data.count)) + $0.data }
        packet += OPTRecord.bytes(rcode: rcode, dnssecOK: dnssecOK, options: wireOptions)
        packet[11] = 1
        let decoded = try WireCodec.decode(packet)
        m.edns = EDNS(udpPayloadSize: 1232, dnssecOK: dnssecOK, options: options)
        #expect(decoded.edns == m.edns)
        #expect(decoded.header.rcode.rawValue >> 4 == rcode.rawValue >> 4, "the extended rcode bits travel in the OPT TTL")
    }

    @Test("every gate reply sets RA")
    func gateRepliesSetRA() {
        var notify = queryBytes("web.example.")
        notify[2] = (notify[2] & 0x87) | (Opcode.notify.rawValue << 3)
        var formErr = queryBytes("web.example.")
        set16(&formErr, 6, 1)
        for packet in [notify, formErr, queryBytes("web.example.", .axfr), queryBytes("web.example.", class: .chaos),
                       queryBytes("web.example.", edns: EDNS(version: 1))] {
            let reply = Gate.inspect(packet).replyBytes
            #expect(reply.map { $0[3] & 0x80 != 0 } == true)
        }
    }
}
