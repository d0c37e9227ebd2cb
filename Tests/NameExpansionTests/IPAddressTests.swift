import Testing
import NameExpansion

/// Address text as it appears in EndpointSlices, Services, resolv.conf and PTR names.
struct IPAddressTests {
    @Test(arguments: [
        ("10.0.0.1", [10, 0, 0, 1] as [UInt8]),
        ("0.0.0.0", [0, 0, 0, 0]),
        ("255.255.255.255", [255, 255, 255, 255]),
        ("192.168.0.10", [192, 168, 0, 10]),
    ])
    func parsesIPv4(text: String, bytes: [UInt8]) {
        #expect(IPAddress.v4Bytes(text) == bytes)
        #expect(IPAddress.text(bytes) == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "1.2.3.", ".1.2.3", "+1.2.3.4", "-0.1.2.3",
                      "01.2.3.4", "1.2.3.00", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "0x1.2.3.4", "1.2.3.4/32",
                      "\u{661}.2.3.4", "1000.2.3.4", "::1"])
    func rejectsInvalidIPv4(text: String) {
        #expect(IPAddress.v4Bytes(text) == nil)
    }

    /// RFC 5952 §4: lower case, no leading zeros, `::` for the longest run of two or more zero
    /// groups (the first on a tie), never for a single group; §5: IPv4-mapped in mixed notation.
    @Test(arguments: [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("fe80::0001", "fe80::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::FFFF:c000:0201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("fd00:10:96::a", "fd00:10:96::a"),
    ])
    func printsIPv6PerRFC5952(text: String, canonical: String) {
        #expect(IPAddress.canonical(text) == canonical)
        // The canonical form parses back to the same bytes.
        #expect(IPAddress.v6Bytes(canonical) == IPAddress.v6Bytes(text))
    }

    @Test(arguments: ["", ":", ":::", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
                      "1:2:3:4:5:6:7", "12345::", "+f::1", "g::1", "::1%eth0", "::1.2.3", "::256.1.2.3", "1.2.3.4::",
                      "1:2:3:4:5:6:7:1.2.3.4", "[::1]"])
    func rejectsInvalidIPv6(text: String) {
        #expect(IPAddress.v6Bytes(text) == nil)
        #expect(IPAddress.canonical(text) == nil)
    }

    @Test func textNeedsFourOrSixteenBytes() {
        #expect(IPAddress.text([1, 2, 3]) == nil)
        #expect(IPAddress.text([UInt8](repeating: 0, count: 15)) == nil)
    }

    @Test(arguments: [("10.0.0.1", "10-0-0-1"), ("fd00::1", "fd00--1"), ("2001:db8::ff00:42:8329", "2001-db8--ff00-42-8329")])
    func dashedLabels(text: String, dashed: String) {
        #expect(IPAddress.dashed(text) == dashed)
    }

    @Test(arguments: [
        ("10.0.0.1", "1.0.0.10.in-addr.arpa."),
        ("192.168.0.255", "255.0.168.192.in-addr.arpa."),
        ("2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."),
        ("::ffff:10.0.0.1", "1.0.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa."),
    ])
    func reverseNamesRoundTrip(address: String, reverse: String) throws {
        let name = try #require(ReverseName.name(for: address))
        #expect(name.description == reverse)
        #expect(ReverseName.isReverse(name))
        #expect(ReverseName.address(from: name) == IPAddress.canonical(address))
    }

    @Test func reverseNamesAreCaseInsensitive() throws {
        let upper = try DomainName("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA")
        #expect(ReverseName.address(from: upper) == "2001:db8::1")
        #expect(ReverseName.address(from: try DomainName("1.0.0.10.IN-ADDR.ARPA")) == "10.0.0.1")
    }

    @Test(arguments: [
        "0.10.in-addr.arpa",                 // a partial reverse name (a zone cut, not an address)
        "5.1.0.0.10.in-addr.arpa",           // too many labels
        "01.0.0.10.in-addr.arpa",            // not canonical
        "256.0.0.10.in-addr.arpa",
        "x.0.0.10.in-addr.arpa",
        "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",    // 31 nibbles
        "10.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", // a two-digit label
        "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "in-addr.arpa",
        "1.0.0.10.in-addr.example",
    ])
    func incompleteOrInvalidReverseNamesHaveNoAddress(name: String) throws {
        #expect(ReverseName.address(from: try DomainName(name)) == nil)
    }

    @Test func isReverseCoversBothTrees() throws {
        #expect(ReverseName.isReverse(try DomainName("in-addr.arpa")))
        #expect(ReverseName.isReverse(try DomainName("8.b.d.0.1.0.0.2.ip6.arpa")))
        #expect(!ReverseName.isReverse(try DomainName("arpa")))
        #expect(!ReverseName.isReverse(try DomainName("in-addr.arpa.example")))
    }
}
