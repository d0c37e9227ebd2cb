extension DomainName {
    /// True when `text` is an RFC 1123 host label: 1–63 ASCII letters, digits and hyphens, not
    /// starting or ending with a hyphen. Letters may be either case (RFC 1123 names compare
    /// case-insensitively); Kubernetes' stricter DNS-1123 label is this on lower-cased text.
    public static func isRFC1123Label(_ text: String) -> Bool {
        let bytes = text.utf8
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { isLetterOrDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// True when `text` is an RFC 1123 subdomain: RFC 1123 labels joined by dots, at most 253
    /// characters, with at most one trailing dot (`example.com.` is accepted as `example.com`).
    public static func isRFC1123Subdomain(_ text: String) -> Bool {
        var text = Substring(text)
        if text.hasSuffix(".") { text = text.dropLast() }
        guard (1...253).contains(text.utf8.count) else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isRFC1123Label(String($0)) }
    }

    /// Top-level domains (and widely used pseudo-TLDs) that people also pick as short names. A
    /// federation named like one captures every bare three-label name ending in it (docs/behaviour.md, federation rule 4).
    public static let commonTopLevelDomains: Set<String> = [
        // generic and infrastructure
        "com", "net", "org", "edu", "gov", "mil", "int", "arpa", "info", "biz", "name", "pro", "mobi",
        // popular new gTLDs
        "io", "dev", "app", "cloud", "ai", "co", "me", "tv", "xyz", "tech", "online", "site", "page",
        "zone", "global", "network", "systems", "services",
        // country codes common in infrastructure names
        "us", "uk", "de", "eu", "fr", "nl", "jp", "cn", "in", "ca", "au", "ch", "se",
        // special-use and private-use names (RFC 2606, RFC 6761, RFC 6762 appendix G, ICANN .internal)
        "local", "localhost", "localdomain", "internal", "intranet", "private", "corp", "home", "lan",
        "test", "example", "invalid", "onion", "alt",
    ]
}

private func isLetterOrDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
}

/// Something wrong, or worth a warning, in one `federations:` entry (docs/behaviour.md, federation rule 4).
public enum FederationConfigIssue: Equatable, Sendable, CustomStringConvertible {
    /// The federation name is not an RFC 1123 label.
    case invalidFederationName(String)
    /// `svc` and `pod` are labels of the cluster zone's own grammar.
    case reservedFederationName(String)
    /// The domain is not an RFC 1123 subdomain.
    case invalidDomain(federation: String, domain: String)
    /// A warning: the federation is named like a common top-level domain, so its bare form
    /// captures three-label names such as `www.example.<fed>`.
    case namedLikeTopLevelDomain(String)

    /// Errors reject the configuration; the rest are warnings.
    public var isError: Bool {
        if case .namedLikeTopLevelDomain = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .invalidFederationName(let f):
            return "federation name '\(f)' is not an RFC 1123 label (letters, digits and '-', at most 63)"
        case .reservedFederationName(let f):
            return "federation name '\(f)' is reserved by the cluster zone"
        case .invalidDomain(let f, let d):
            return "domain '\(d)' of federation '\(f)' is not an RFC 1123 subdomain"
        case .namedLikeTopLevelDomain(let f):
            return "federation '\(f)' is named like a top-level domain: every name '<a>.<b>.\(f)' is answered as federated"
        }
    }
}

extension FederationGrammar {
    /// Checks one `federations:` entry; an empty result means it is fine.
    public static func validate(federation: String, domain: String) -> [FederationConfigIssue] {
        var issues: [FederationConfigIssue] = []
        let name = federation.asciiLowercased
        if !DomainName.isRFC1123Label(federation) {
            issues.append(.invalidFederationName(federation))
        } else if name == "svc" || name == "pod" {
            issues.append(.reservedFederationName(federation))
        } else if DomainName.commonTopLevelDomains.contains(name) || (name.utf8.count == 2 && name.utf8.allSatisfy { $0 >= 0x61 && $0 <= 0x7A }) {
            // Every two-letter name is a country-code TLD as well.
            issues.append(.namedLikeTopLevelDomain(federation))
        }
        if !DomainName.isRFC1123Subdomain(domain) {
            issues.append(.invalidDomain(federation: federation, domain: domain))
        }
        return issues
    }
}
