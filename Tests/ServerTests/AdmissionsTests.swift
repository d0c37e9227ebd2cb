import DNSWire
import NameExpansion
import NIOCore
import Testing
@testable import Server

/// `allowedNetworks` (fedns is not an open resolver) and the checks every packet passes before the engine.
@Suite struct AccessListTests {
    static let defaults = AccessList(networks: CIDR.defaultAllowed)

    static let defaultCases: [(String, Bool)] = [
        ("127.0.0.1", true), ("127.255.0.9", true), ("10.1.2.3", true), ("172.16.0.1", true), ("172.31.255.255", true),
        ("172.32.0.1", false), ("192.168.1.1", true), ("192.169.0.1", false), ("100.64.0.1", true), ("100.128.0.1", false),
        ("169.254.20.10", true), ("8.8.8.8", false), ("0.0.0.0", false),
        ("::1", true), ("::2", false), ("fd00::1", true), ("fc00::1", true), ("fe80::1", true), ("fec0::1", false),
        ("2001:db8::1", false),
        ("::ffff:10.1.2.3", true), ("::ffff:127.0.0.1", true), ("::ffff:192.168.0.1", true),
        ("::ffff:8.8.8.8", false), ("::ffff:172.32.0.1", false),
        // Not IPv4-mapped: IPv4-compatible (deprecated) and NAT64 addresses are IPv6.
        ("::10.1.2.3", false), ("64:ff9b::a01:203", false),
    ]

    @Test("the default networks: loopback, link-local, RFC 1918, CGNAT, ULA; IPv4-mapped clients judged as IPv4", arguments: defaultCases)
    func defaultNetworks(_ client: String, _ allowed: Bool) throws {
        #expect(Self.defaults.allows(try SocketAddress(ipAddress: client, port: 5353)) == allowed, "\(client)")
    }

    @Test("the UDP listener's judgement of the raw source address (sockaddr_in/in6 as recvmmsg fills it) is the same", arguments: defaultCases)
    func rawSourceAddress(_ client: String, _ allowed: Bool) throws {
        let address = try SocketAddress(ipAddress: client, port: 5353)
        #expect(address.withSockAddr { pointer, _ in Self.defaults.allows(pointer) } == allowed, "\(client)")
        let narrow = AccessList(networks: [try #require(CIDR("10.1.2.0/23")), try #require(CIDR("fd00::/8"))])
        #expect(address.withSockAddr { pointer, _ in narrow.allows(pointer) } == narrow.allows(address), "\(client)")
    }

    @Test("the client's address as text, for the pod lookups, is what NIO writes", arguments: defaultCases.map(\.0) + ["255.255.255.255", "1.20.255.0"])
    func sourceAddressText(_ client: String) throws {
        let address = try SocketAddress(ipAddress: client, port: 5353)
        #expect(address.withSockAddr { pointer, _ in addressText(pointer) } == address.ipAddress)
    }

    @Test("a network written in the IPv4-mapped form is that IPv4 network, for plain and mapped clients alike")
    func mappedNetwork() throws {
        let list = AccessList(networks: [try #require(CIDR("::ffff:10.0.0.0/104"))])
        #expect(list.networks.map(\.description) == ["10.0.0.0/8"])
        #expect(list.allows(try SocketAddress(ipAddress: "10.9.9.9", port: 53)))
        #expect(list.allows(try SocketAddress(ipAddress: "::ffff:10.9.9.9", port: 53)))
        #expect(!list.allows(try SocketAddress(ipAddress: "::ffff:11.0.0.1", port: 53)))
        #expect(!list.allows(try SocketAddress(ipAddress: "::a00:1", port: 53)))
    }

    @Test("narrow lists, an empty list and an unknown sender")
    func otherLists() throws {
        let one = AccessList(networks: [try #require(CIDR("192.0.2.7/32")), try #require(CIDR("2001:db8::/64"))])
        #expect(one.allows(try SocketAddress(ipAddress: "192.0.2.7", port: 53)))
        #expect(!one.allows(try SocketAddress(ipAddress: "192.0.2.8", port: 53)))
        #expect(one.allows(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 53)))
        #expect(one.allows(try SocketAddress(ipAddress: "2001:db8::ffff", port: 53)))
        #expect(!one.allows(try SocketAddress(ipAddress: "2001:db8:0:1::1", port: 53)))
        #expect(!AccessList(networks: []).allows(try SocketAddress(ipAddress: "127.0.0.1", port: 53)))
        #expect(!Self.defaults.allows(nil))
        #expect(CIDR("10.0.0.0/33") == nil && CIDR("::ffff:10.0.0.0/129") == nil && CIDR("10.0.0.0/8/8") == nil)
    }
}

@Suite struct AdmissionsTests {
    static let admissions = Admissions(access: AccessList(networks: [CIDR("10.0.0.0/8")!]), identityNames: false, metrics: ServerMetrics())

    static func query(_ qname: String, id: UInt16 = 0x1234, edns: EDNS? = EDNS(udpPayloadSize: 4096, dnssecOK: true),
                      checkingDisabled: Bool = true) throws -> [UInt8] {
        var m = Message.query(id: id, name: try DomainName(qname), type: .a, edns: edns)
        m.header.checkingDisabled = checkingDisabled
        return WireCodec.encode(m)
    }

    static func admit(_ packet: [UInt8], from client: String) throws -> Admission {
        let remote = try SocketAddress(ipAddress: client, port: 40000)
        return packet.withUnsafeBytes { admissions.admit($0, from: remote, tcp: false) }
    }

    @Test("a client outside allowedNetworks gets REFUSED: ID, RD, CD and the question echoed, RA set, OPT with DO when it sent one")
    func refusedOutside() throws {
        for (edns, client) in [(EDNS(udpPayloadSize: 4096, dnssecOK: true), "192.0.2.1"), (nil, "::ffff:192.0.2.1"), (nil, "2001:db8::1")] {
            let packet = try Self.query("Web.Example.", edns: edns)
            guard case .reply(let bytes) = try Self.admit(packet, from: client) else {
                Issue.record("\(client): not refused"); continue
            }
            let reply = try WireCodec.decode(bytes)
            #expect(reply.header.rcode == .refused && reply.header.isResponse && reply.header.id == 0x1234)
            #expect(reply.header.recursionDesired && reply.header.checkingDisabled && !reply.header.authoritative)
            #expect(reply.header.recursionAvailable, "RA on every reply, as on the gate's")
            #expect(Array(bytes[12..<(12 + 17)]) == Array(packet[12..<(12 + 17)]), "the question byte for byte")
            #expect(reply.edns == edns.map { EDNS(udpPayloadSize: 1232, dnssecOK: $0.dnssecOK) })
            #expect(reply.answer.isEmpty && reply.authority.isEmpty)
        }
    }

    @Test("inside allowedNetworks the query passes; gate verdicts come before the access list")
    func gateFirst() throws {
        guard case .query(let view) = try Self.admit(try Self.query("web.example."), from: "::ffff:10.1.2.3") else {
            Issue.record("a mapped 10/8 client must pass"); return
        }
        #expect(view.id == 0x1234)
        var notify = try Self.query("web.example.")
        notify[2] = (notify[2] & 0x87) | (Opcode.notify.rawValue << 3)
        for client in ["10.1.2.3", "192.0.2.1"] {
            guard case .reply(let bytes) = try Self.admit(notify, from: client) else { Issue.record("NOTIMP expected"); continue }
            #expect(try WireCodec.decode(bytes).header.rcode == .notImp)
            if case .dropped = try Self.admit(Array(notify[0..<11]), from: client) {} else { Issue.record("a short packet is dropped") }
        }
    }
}
