import Testing
import NameExpansion

/// Federation names and domains as the configuration accepts them (docs/behaviour.md, federation rule 4).
struct ValidationTests {
    @Test(arguments: ["a", "myfederation", "my-federation", "0abc", "a1", "MyFed", String(repeating: "x", count: 63)])
    func acceptsRFC1123Labels(label: String) {
        #expect(DomainName.isRFC1123Label(label))
    }

    @Test(arguments: ["", "-a", "a-", "a_b", "a.b", "a b", "\u{e9}t\u{e9}", String(repeating: "x", count: 64), "*"])
    func rejectsNonLabels(label: String) {
        #expect(!DomainName.isRFC1123Label(label))
    }

    @Test(arguments: ["example.com", "example.com.", "a", "a-b.c-d.example", "EXAMPLE.Com",
                      ([String](repeating: String(repeating: "x", count: 63), count: 3) + [String(repeating: "y", count: 61)]).joined(separator: ".")])
    func acceptsRFC1123Subdomains(domain: String) {
        #expect(DomainName.isRFC1123Subdomain(domain))
    }

    @Test(arguments: ["", ".", "example..com", ".example.com", "example.com..", "-a.example", "a_b.example", "a b.example",
                      ([String](repeating: String(repeating: "x", count: 63), count: 3) + [String(repeating: "y", count: 62)]).joined(separator: ".")])
    func rejectsNonSubdomains(domain: String) {
        #expect(!DomainName.isRFC1123Subdomain(domain))
    }

    @Test(arguments: [
        ("myfederation", "example.com", [FederationConfigIssue]()),
        ("MyFederation", "example.com.", []),
        ("svc", "example.com", [.reservedFederationName("svc")]),
        ("Pod", "example.com", [.reservedFederationName("Pod")]),
        ("my_fed", "example.com", [.invalidFederationName("my_fed")]),
        ("my.fed", "example.com", [.invalidFederationName("my.fed")]),
        ("myfed", "bad..domain", [.invalidDomain(federation: "myfed", domain: "bad..domain")]),
        ("com", "example.com", [.namedLikeTopLevelDomain("com")]),
        ("Local", "example.com", [.namedLikeTopLevelDomain("Local")]),
        ("internal", "", [.namedLikeTopLevelDomain("internal"), .invalidDomain(federation: "internal", domain: "")]),
    ])
    func validatesFederationEntries(federation: String, domain: String, issues: [FederationConfigIssue]) {
        #expect(FederationGrammar.validate(federation: federation, domain: domain) == issues)
    }

    @Test func topLevelDomainNamesOnlyWarn() {
        #expect(!FederationConfigIssue.namedLikeTopLevelDomain("com").isError)
        #expect(FederationConfigIssue.reservedFederationName("svc").isError)
        #expect(FederationConfigIssue.invalidFederationName("a_b").isError)
        #expect(FederationConfigIssue.invalidDomain(federation: "f", domain: "").isError)
    }

    @Test(arguments: ["com", "net", "org", "local", "internal", "io", "dev", "app", "cloud", "home", "corp", "lan", "arpa"])
    func commonTopLevelDomainsIncludeThoseDesignNames(tld: String) {
        #expect(DomainName.commonTopLevelDomains.contains(tld))
    }

    @Test func ordinaryFederationNamesAreNotTopLevelDomains() {
        for name in ["myfederation", "prod", "global-fed", "svc", "pod"] {
            #expect(!DomainName.commonTopLevelDomains.contains(name))
        }
    }
}
