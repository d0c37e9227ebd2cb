import Testing
@testable import NameExpansion

/// Presentation-form parsing: what a name in a config file, zone text or a CLI argument becomes.
struct DomainNameTests {
    static let label63 = String(repeating: "a", count: 63)
    static let longest = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
    static let tooLong = [label63, label63, label63, String(repeating: "b", count: 62)].joined(separator: ".")

    @Test(arguments: [
        ("www.example.com", ["www", "example", "com"]),
        ("www.example.com.", ["www", "example", "com"]),
        ("Www.Example.COM", ["Www", "Example", "COM"]),
        (".", []),
        ("", []),
        (#"a\.b.c"#, ["a.b", "c"]),
        (#"\065bc.d"#, ["Abc", "d"]),
        (#"a\032b.c"#, ["a b", "c"]),
        (#"a\\b"#, [#"a\b"#]),
        (label63 + ".com", [label63, "com"]),
        // 63+63+63+61 octets: 255 in wire form, the longest name there is.
        (longest, [label63, label63, label63, String(repeating: "b", count: 61)]),
    ])
    func parsesPresentationForm(text: String, labels: [String]) throws {
        #expect(try DomainName(text).labels == labels)
    }

    @Test(arguments: [
        ("a..b", NameError.emptyLabel("a..b")),
        (".a", .emptyLabel(".a")),
        ("a..", .emptyLabel("a..")),
        ("..", .emptyLabel("..")),
        (#"a\"#, .badEscape(#"a\"#)),
        (#"a\25"#, .badEscape(#"a\25"#)),
        (#"a\25x"#, .badEscape(#"a\25x"#)),
        (#"a\256"#, .badEscape(#"a\256"#)),
        (label63 + "a.com", .labelTooLong(label63 + "a.com")),
        (tooLong, .nameTooLong(tooLong)),
    ])
    func rejectsMalformedNames(text: String, error: NameError) {
        #expect(throws: error) { try DomainName(text) }
    }

    @Test(arguments: [
        ("www.example.com", "www.example.com."),
        (".", "."),
        (#"a\.b.c"#, #"a\.b.c."#),
        (#"a\032b"#, #"a\032b."#),
        (#"\040x\059"#, #"\(x\;."#),
        (#"\200"#, #"\200."#),  // not UTF-8: the octet is kept as it is
        ("é.example", #"\195\169.example."#),  // UTF-8 text: its octets
    ])
    func printsEscapedPresentationForm(text: String, printed: String) throws {
        #expect(try DomainName(text).description == printed)
    }

    @Test(arguments: ["a.b.c.", #"we\.ird\032name\\x.example."#, "_http._tcp.nginx.default.svc.cluster.local.", "\u{e9}t\u{e9}.fr.", longest])
    func presentationFormRoundTrips(text: String) throws {
        let name = try DomainName(text)
        let again = try DomainName(name.description)
        #expect(again.labels == name.labels)
        #expect(again.wireLength == name.wireLength)
    }

    @Test(arguments: [
        ("Kubernetes.Default.SVC.cluster.local", "kubernetes.default.svc.cluster.local."),
        ("EXAMPLE.com", "example.COM"),
        (#"\065"#, "a"),
    ])
    func comparesCaseInsensitively(a: String, b: String) throws {
        let x = try DomainName(a), y = try DomainName(b)
        #expect(x == y)
        #expect(x.hashValue == y.hashValue)
        #expect(Set([x, y]).count == 1)
        #expect([x: 1][y] == 1)
        #expect(!(x < y) && !(y < x))
    }

    @Test func distinguishesDifferentNames() throws {
        #expect(try DomainName("a.example") != DomainName("b.example"))
        #expect(try DomainName("a.example") != DomainName("a.example.com"))
        // Only ASCII folds (RFC 4343): É and é stay different.
        #expect(try DomainName("\u{c9}.fr") != DomainName("\u{e9}.fr"))
    }

    @Test func keepsCaseOfLabels() throws {
        let name = try DomainName("Nginx.MyNamespace.svc.cluster.local")
        #expect(name.labels[0] == "Nginx")
        #expect(name.lowercasedLabels[0] == "nginx")
        #expect(name.relativeDescription == "Nginx.MyNamespace.svc.cluster.local")
        #expect(name.lowercased.labels[1] == "mynamespace")
    }

    @Test(arguments: [
        ("a.example.com", "example.com", true),
        ("example.com", "example.com", true),
        ("A.EXAMPLE.com", "example.COM", true),
        ("anything", ".", true),
        ("example.com", "a.example.com", false),
        ("badexample.com", "example.com", false),
        ("example.com.evil", "example.com", false),
    ])
    func isSubdomain(name: String, of parent: String, expected: Bool) throws {
        #expect(try DomainName(name).isSubdomain(of: DomainName(parent)) == expected)
    }

    @Test func labelsBeforeSuffix() throws {
        let name = try DomainName("Web-0.nginx.default.svc.cluster.local")
        #expect(name.labels(before: try DomainName("svc.CLUSTER.local")) == ["Web-0", "nginx", "default"])
        #expect(name.labels(before: try DomainName("example.com")) == nil)
        #expect(name.labels(before: name) == [])
    }

    /// RFC 4034 §6.1's own example, in canonical order.
    @Test func sortsInCanonicalOrder() throws {
        let ordered = try ["example", "a.example", "yljkjljk.a.example", "Z.a.example", "zABC.a.EXAMPLE",
                           "z.example", #"\001.z.example"#, "*.z.example", #"\200.z.example"#].map { try DomainName($0) }
        #expect(ordered.reversed().sorted().map(\.labels) == ordered.map(\.labels))
        #expect(DomainName.root < ordered[0])
        #expect(!(ordered[0] < DomainName.root))
    }

    @Test func wireLengthCountsLengthOctetsAndRoot() throws {
        #expect(DomainName.root.wireLength == 1)
        #expect(try DomainName("www.example.com").wireLength == 17)
        #expect(try DomainName(#"a\.b"#).wireLength == 5)
        #expect(try DomainName(Self.longest).wireLength == 255)
    }
}
