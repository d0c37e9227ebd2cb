/// A stub resolver's configuration, read from resolv.conf text the way glibc 2.36 reads it
/// (`resolv/res_init.c`, `res_vinit_1` and `res_setoptions`):
///
/// ```text
/// # comment                 only when `#` or `;` is the first character of the line
/// nameserver 10.96.0.10     first token only; IPv4 dotted quad, or IPv6 with an optional %scope
/// search a.example b.example   blank-separated; replaces any earlier search or domain line
/// domain example.com        first token only; replaces any earlier search or domain line
/// options ndots:5 rotate    accumulate over lines; flags match by prefix, as glibc's strncmp does
/// ```
///
/// A keyword counts only at the start of a line followed by a blank; other lines (`sortlist`,
/// `lookup`, typos) are ignored. Like glibc, text after a search domain is not a comment:
/// `search a # b` searches `a`, `#` and `b`.
///
/// Where this model is stricter than glibc: IPv4 nameservers must be dotted quads (`inet_aton`
/// also takes `10.1` or octal), and search tokens that are not valid domain names are dropped
/// (glibc would try them and stop its search walk there).
public struct ResolvConf: Equatable, Sendable {
    /// `options` of resolv.conf, with glibc's defaults and caps.
    public struct Options: Equatable, Sendable {
        /// Dots a name needs before it is tried as-is first (default 1, capped at 15).
        public var ndots: Int = 1
        /// Seconds to wait for one server (default 5, glibc caps at 30).
        public var timeout: Int = 5
        /// Rounds over the server list (default 2, glibc caps at 5).
        public var attempts: Int = 2
        public var rotate = false
        public var singleRequest = false
        public var singleRequestReopen = false
        public var edns0 = false
        public var useVC = false
        /// `no-tld-query`: glibc never sends a single-label name as-is after the search list.
        public var noTLDQuery = false
        public var trustAD = false
        public var noAAAA = false
        public var noReload = false
        public var inet6 = false
        /// Option words no stub resolver here knows, in order (for warnings).
        public var unknown: [String] = []

        public init() {}
    }

    /// Every valid `nameserver` line, in order, as canonical address text (`%scope` kept).
    /// glibc and musl query only the first ``maxNameservers``; see ``queriedNameservers``.
    public var nameservers: [String]
    /// The search list of the last `search` or `domain` line (`.` parses as the root).
    public var search: [DomainName]
    public var options: Options

    /// How many nameservers glibc and musl use (`MAXNS`).
    public static let maxNameservers = 3
    /// The glibc and musl cap on `ndots` (`RES_MAXNDOTS`).
    public static let maxNdots = 15

    public init(nameservers: [String] = [], search: [DomainName] = [], options: Options = Options()) {
        self.nameservers = nameservers
        self.search = search
        self.options = options
    }

    /// The servers a stub resolver actually sends to: the first three, or `127.0.0.1` when the
    /// file names none (glibc's and musl's fallback).
    public var queriedNameservers: [String] {
        nameservers.isEmpty ? ["127.0.0.1"] : Array(nameservers.prefix(Self.maxNameservers))
    }

    /// Parses resolv.conf text. `environment` supplies glibc's overrides: `LOCALDOMAIN`
    /// (blank-separated, replaces the file's search list) and `RES_OPTIONS` (applied after the
    /// file's options). `hostname`, when it has a dot, gives the search list of a file without one,
    /// as glibc derives it from `gethostname`.
    public init(parsing text: String, environment: [String: String] = [:], hostname: String? = nil) {
        self.init()
        let localDomain = environment["LOCALDOMAIN"]
        if let localDomain { search = Self.searchList(localDomain) }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = Substring(rawLine)
            if line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if let rest = Self.value(of: "domain", in: line) {
                // LOCALDOMAIN overrides the file, as in glibc.
                guard localDomain == nil, let first = Self.tokens(rest).first else { continue }
                search = Self.searchList(String(first))
            } else if let rest = Self.value(of: "search", in: line) {
                guard localDomain == nil, !Self.tokens(rest).isEmpty else { continue }
                search = Self.searchList(String(rest))
            } else if let rest = Self.value(of: "nameserver", in: line) {
                if let first = Self.tokens(rest).first, let address = Self.nameserverAddress(first) {
                    nameservers.append(address)
                }
            } else if let rest = Self.value(of: "options", in: line) {
                options.apply(String(rest))
            }
        }
        if search.isEmpty, localDomain == nil, let hostname, let dot = hostname.firstIndex(of: "."),
           let domain = try? DomainName(String(hostname[hostname.index(after: dot)...])), !domain.isRoot {
            search = [domain]
        }
        if let resOptions = environment["RES_OPTIONS"] { options.apply(resOptions) }
    }

    /// resolv.conf text for this configuration; options only where they differ from the defaults.
    public var text: String {
        var lines = nameservers.map { "nameserver \($0)" }
        if !search.isEmpty {
            lines.append("search " + search.map { $0.isRoot ? "." : $0.relativeDescription }.joined(separator: " "))
        }
        let words = options.words
        if !words.isEmpty { lines.append("options " + words.joined(separator: " ")) }
        return lines.map { $0 + "\n" }.joined()
    }

    /// The resolv.conf kubelet writes for a pod with `dnsPolicy: ClusterFirst`:
    ///
    /// ```text
    /// nameserver <cluster DNS IP>
    /// search <ns>.svc.<cd> svc.<cd> <cd> <host search…>
    /// options ndots:5
    /// ```
    ///
    /// Host search domains that repeat an earlier element are dropped, as kubelet does.
    /// Kubelet's caps (32 domains, 2048 characters) are not applied.
    public static func kubernetesPod(namespace: String, clusterDomain: DomainName, hostSearch: [DomainName], nameserver: String) -> ResolvConf {
        var options = Options()
        options.ndots = 5
        return ResolvConf(nameservers: [nameserver],
                          search: kubernetesSearchList(namespace: namespace, clusterDomain: clusterDomain, hostSearch: hostSearch),
                          options: options)
    }

    /// `<ns>.svc.<cd> svc.<cd> <cd> <host search…>`, without repeats.
    public static func kubernetesSearchList(namespace: String, clusterDomain: DomainName, hostSearch: [DomainName]) -> [DomainName] {
        let cluster = [clusterDomain.prepending([namespace, "svc"]), clusterDomain.prepending(["svc"]), clusterDomain]
        var seen = Set<DomainName>()
        return (cluster + hostSearch).filter { seen.insert($0).inserted }
    }

    // MARK: parsing helpers

    /// The rest of `line` when it starts with `keyword` and a blank (glibc's `MATCH`).
    private static func value(of keyword: String, in line: Substring) -> Substring? {
        guard line.hasPrefix(keyword) else { return nil }
        let rest = line.dropFirst(keyword.count)
        guard let first = rest.first, first == " " || first == "\t" else { return nil }
        return rest
    }

    private static func tokens(_ text: Substring) -> [Substring] {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// glibc strips one leading dot of a search domain when it searches, so `.` is the root.
    private static func searchList(_ text: String) -> [DomainName] {
        tokens(Substring(text)).compactMap { token in
            let trimmed = token.hasPrefix(".") ? token.dropFirst() : token
            return try? DomainName(String(trimmed))
        }
    }

    private static func nameserverAddress(_ token: Substring) -> String? {
        if let v4 = IPAddress.v4Bytes(String(token)) { return IPAddress.text(v4) }
        let parts = token.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        guard let v6 = IPAddress.v6Bytes(String(parts[0])), let text = IPAddress.text(v6) else { return nil }
        // glibc ignores a scope it cannot resolve; keeping the text lets the caller decide.
        return parts.count == 2 && !parts[1].isEmpty ? text + "%" + parts[1] : text
    }
}

extension ResolvConf.Options {
    /// glibc's flag words in its own matching order: `single-request-reopen` before its prefix.
    private static var flags: [(word: String, keyPath: WritableKeyPath<ResolvConf.Options, Bool>)] {
        [("inet6", \.inet6), ("rotate", \.rotate), ("edns0", \.edns0),
        ("single-request-reopen", \.singleRequestReopen), ("single-request", \.singleRequest),
        ("no_tld_query", \.noTLDQuery), ("no-tld-query", \.noTLDQuery), ("no-reload", \.noReload),
        ("use-vc", \.useVC), ("trust-ad", \.trustAD), ("no-aaaa", \.noAAAA)]
    }

    /// Applies one `options` line (or `RES_OPTIONS`) as glibc's `res_setoptions` does.
    mutating func apply(_ text: String) {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            if let n = Self.number(after: "ndots:", in: word) {
                ndots = n.clamped(to: 0...ResolvConf.maxNdots)
            } else if let n = Self.number(after: "timeout:", in: word) {
                timeout = n.clamped(to: 0...30)
            } else if let n = Self.number(after: "attempts:", in: word) {
                attempts = n.clamped(to: 0...5)
            } else if let flag = Self.flags.first(where: { word.hasPrefix($0.word) }) {
                self[keyPath: flag.keyPath] = true
            } else {
                unknown.append(String(word))
            }
        }
    }

    /// `atoi` of what follows `prefix`: leading digits with an optional sign, 0 when there are none.
    private static func number(after prefix: String, in word: Substring) -> Int? {
        guard word.hasPrefix(prefix) else { return nil }
        var rest = word.dropFirst(prefix.count)[...]
        var sign = 1
        if let s = rest.first, s == "-" || s == "+" { sign = s == "-" ? -1 : 1; rest = rest.dropFirst() }
        var value = 0
        for c in rest {
            guard let d = c.wholeNumberValue, c.isASCII else { break }
            value = min(value * 10 + d, 1_000_000)  // atoi's overflow is undefined; any cap above 30 reads the same
        }
        return sign * value
    }

    /// The option words that differ from the defaults, in resolv.conf syntax.
    var words: [String] {
        var out: [String] = []
        let defaults = ResolvConf.Options()
        if ndots != defaults.ndots { out.append("ndots:\(ndots)") }
        if timeout != defaults.timeout { out.append("timeout:\(timeout)") }
        if attempts != defaults.attempts { out.append("attempts:\(attempts)") }
        var written = Set<String>()
        for flag in Self.flags where self[keyPath: flag.keyPath] {
            // `no_tld_query` and `no-tld-query` set one flag: write it once.
            let word = flag.word == "no_tld_query" ? "no-tld-query" : flag.word
            if written.insert(word).inserted { out.append(word) }
        }
        return out + unknown
    }
}

extension Int {
    fileprivate func clamped(to range: ClosedRange<Int>) -> Int { Swift.min(Swift.max(self, range.lowerBound), range.upperBound) }
}
