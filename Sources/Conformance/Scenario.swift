import DNSWire
import NameExpansion

/// One scripted scenario (conformance/README.md): a server set-up, scripted upstreams, and ordered
/// steps whose expectations decide pass or fail.
public struct Scenario: Sendable {
    /// The file's `name`, else its file name.
    public var name: String
    /// The file it came from.
    public var path: String
    public var tags: Set<String>
    /// The fedns configuration, as YAML text (the scenario's `config` mapping).
    public var configYAML: String
    /// The cluster's Kubernetes objects; nil (`cluster: unsynced`) means no state is installed until
    /// the first `clusterChange`.
    public var cluster: [ClusterObject]?
    public var upstreams: [ScriptedUpstream]
    public var steps: [Step]

    /// Runnable against any DNS server configured with the same data.
    public var isStatic: Bool { tags.contains("static") }
    /// Runnable against a real fedns process (real time, real sockets).
    public var isBlackBox: Bool { tags.contains("static") || tags.contains("blackbox") }
    public var hasClusterChanges: Bool { steps.contains { if case .clusterChange = $0.action { true } else { false } } }
}

/// One Kubernetes object of the scenario's cluster, kept as YAML so changes can be re-serialised
/// for the file source; `key` identifies it for `modify` and `delete`.
public struct ClusterObject: Sendable, Equatable {
    public var key: ObjectKey
    public var yaml: String
}

/// `kind/namespace/name` of a Kubernetes object.
public struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var namespace: String
    public var name: String
    public var description: String { namespace.isEmpty ? "\(kind)/\(name)" : "\(kind)/\(namespace)/\(name)" }
}

/// One ordered step; `line` is where it starts in the file, for messages.
public struct Step: Sendable {
    public enum Action: Sendable {
        case query(QuerySpec, Expectation)
        case expectUpstream(UpstreamExpectation)
        case clusterChange(ClusterChange)
        case timePasses(seconds: Double)
    }
    public var action: Action
    /// 1-based position in `steps`.
    public var index: Int
}

/// What to send.
public struct QuerySpec: Sendable {
    public enum EDNSSetting: Sendable, Equatable { case off, on(EDNS) }
    public var name: DomainName = .root
    public var type: RRType = .a
    public var `class`: RRClass = .in
    public var opcode: Opcode = .query
    public var transport: Transport = .udp
    /// Header flags to set (`rd`, `cd`, `ad`, …); default `rd`.
    public var flags: Set<String> = ["rd"]
    public var edns: EDNSSetting = .on(EDNS(udpPayloadSize: 1232))
    /// The whole packet as bytes (the ID is used as written); overrides every other field.
    public var raw: [UInt8]?

    public enum Transport: String, Sendable { case udp, tcp }
}

/// What the answer to a query must be. Absent fields are not checked.
public struct Expectation: Sendable {
    public var noResponse = false
    public var rcode: RCode? = .noError
    /// The exact set of header flags (qr aa tc rd ra ad cd).
    public var flags: Set<String>?
    public var answer: [ResourceRecord]?
    public var authority: [ResourceRecord]?
    public var additional: [ResourceRecord]?
    public var ttlExact = true
    /// An EDE code that must be present; `none` is -1 and means no EDE at all.
    public var ede: Int?
    /// The question name exactly as it must come back; default: byte for byte what was asked.
    public var question: String?
    /// Whether the answer must carry an OPT record.
    public var ednsPresent: Bool?
    public var dnssecOK: Bool?
    /// The answer must be at most this many bytes (UDP size limits).
    public var maxSize: Int?
    /// How many records each named section must hold (`answer`, `authority`, `additional`; OPT not counted).
    public var counts: [String: Int] = [:]
}

/// What fedns must have asked its upstreams since the previous block of `expectUpstream` steps.
public struct UpstreamExpectation: Sendable {
    public var upstream: String?
    public var name: DomainName?
    public var type: RRType?
    public var transport: QuerySpec.Transport?
    public var count: Int?
    /// At least this many (for retries whose number is fedns's choice).
    public var atLeast: Int?
}

/// Objects to add, replace (by kind/namespace/name) and delete.
public struct ClusterChange: Sendable {
    public var add: [ClusterObject] = []
    public var modify: [ClusterObject] = []
    public var delete: [ObjectKey] = []

    /// `objects` after this change; an `add` of an existing key or a `modify`/`delete` of a missing
    /// one is an error in the scenario.
    public func applied(to objects: [ClusterObject]) -> Result<[ClusterObject], ScenarioError> {
        var out = objects
        for o in add {
            if out.contains(where: { $0.key == o.key }) { return .failure(ScenarioError("clusterChange: add: \(o.key) already exists")) }
            out.append(o)
        }
        for o in modify {
            guard let i = out.firstIndex(where: { $0.key == o.key }) else {
                return .failure(ScenarioError("clusterChange: modify: no \(o.key)"))
            }
            out[i] = o
        }
        for k in delete {
            guard let i = out.firstIndex(where: { $0.key == k }) else { return .failure(ScenarioError("clusterChange: delete: no \(k)")) }
            out.remove(at: i)
        }
        return .success(out)
    }
}

/// A scripted upstream server (Deckard's RANGE): it answers in its step window by the first entry
/// that matches; outside the window it drops everything; a query no entry matches gets REFUSED.
public struct ScriptedUpstream: Sendable {
    public var name: String
    /// `HOST:PORT` as the scenario's config names it.
    public var address: String
    public var steps: ClosedRange<Int>?
    public var entries: [ScriptedEntry]
}

/// One scripted behaviour: when `match` holds, send `before` datagrams, then act.
public struct ScriptedEntry: Sendable {
    public var match: Match
    public var steps: ClosedRange<Int>?
    /// Seconds to wait before sending anything.
    public var delay: Double = 0
    public var before: [Extra] = []
    public var action: Action

    public struct Match: Sendable {
        public var qname: DomainName?
        public var subdomain: DomainName?
        public var qtype: RRType?
        public var opcode: Opcode?
        public var transport: QuerySpec.Transport?

        func holds(_ q: Question, opcode: Opcode, transport: QuerySpec.Transport) -> Bool {
            if let qname, qname != q.name { return false }
            if let subdomain, !q.name.isSubdomain(of: subdomain) { return false }
            if let qtype, qtype != q.type { return false }
            if let o = self.opcode, o != opcode { return false }
            if let t = self.transport, t != transport { return false }
            return true
        }
    }

    /// What goes out after `before`.
    public enum Action: Sendable {
        case reply(ReplySpec)
        /// These exact bytes (the query's ID is not patched in).
        case raw([UInt8])
        /// Nothing: the forwarder times out.
        case drop
        /// TCP: close the connection without answering; UDP: the port is closed (ICMP unreachable).
        case close
    }

    /// A datagram sent before the real answer: must be ignored by an RFC 5452 forwarder.
    public enum Extra: Sendable {
        case junk
        /// The answer with another ID.
        case wrongID
        /// The answer to another question.
        case wrongQuestion
        case raw([UInt8])
    }
}

/// A scripted answer: records as zone text, copied ID and question.
public struct ReplySpec: Sendable {
    public var rcode: RCode = .noError
    /// Exact header flags besides qr (default `aa rd ra`, rd only when the query had it).
    public var flags: Set<String>?
    public var answer: [ResourceRecord] = []
    public var authority: [ResourceRecord] = []
    public var additional: [ResourceRecord] = []
    public var ede: UInt16?
}

/// A scenario file that cannot be used.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
