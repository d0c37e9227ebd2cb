import ClusterState
import DNSWire
import NameExpansion
import YAMLReader

/// The server-side search path (docs/behaviour.md, the search path, CoreDNS `autopath`): when a pod's query is its typed name
/// plus the first element of its search list (`<typed>.<ns>.svc.<cd>`), the server walks the rest of
/// the pod's list itself, so the pod gets its answer in one round trip instead of one per element.
///
/// The name as asked goes through `next` first; on NXDOMAIN each further candidate does, in the
/// pod's order. The first reply that is not NXDOMAIN ends the walk and comes back as
/// `<qname> CNAME <candidate>` followed by that reply's records and rcode. When every candidate is
/// NXDOMAIN, the first reply goes back unchanged and the pod walks its own list.
public struct SearchPathHandler: Handler {
    public let name = "search-path"

    let settings: SearchPathConfig.Settings
    let metrics: SearchPathMetrics

    public init(config: SearchPathConfig, metrics: SearchPathMetrics = SearchPathMetrics()) throws(ConfigError) {
        self.settings = try config.settings()
        self.metrics = metrics
    }

    public func handle(_ request: Request, next: Next) async -> Response {
        guard settings.enabled, request.question.class == .in else { return await next(request) }
        guard let namespace = clientNamespace(request),
              let walk = searchCandidates(forQuery: request.question.name, clientNamespace: namespace,
                                          clusterDomain: settings.clusterDomain, hostSearch: settings.hostSearch) else {
            return passThrough(await next(request), for: request)
        }
        var first = await next(request)
        // A walked name's answer depends on the client's namespace: never served by the listener from the cache.
        first.cachedAnswer = nil
        guard first.rcode == .nxDomain else { return first }
        var steps = [first]
        for candidate in walk.candidates {
            let reply = await next(request.rewritten(name: candidate))
            steps.append(reply)
            guard reply.rcode == .nxDomain else {
                metrics.count(.hit)
                var response = cnamed(reply, to: candidate, for: request)
                (response.snapshotGeneration, response.dependencies) = reusable(steps)
                return response
            }
        }
        metrics.count(.miss)
        var response = first
        (response.snapshotGeneration, response.dependencies) = reusable(steps)
        return response
    }

    /// The client's namespace: the configured one (sidecar), else its pod's (node-local).
    func clientNamespace(_ request: Request) -> String? {
        if let namespace = settings.namespace { return namespace }
        guard let address = request.clientAddress, let lookup = settings.podNamespace else { return nil }
        return lookup(address)?.asciiLowercased
    }

    /// A reply that was not walked. With per-client namespaces, an NXDOMAIN for a name another
    /// client would walk must not be pre-rendered, nor any answer for it served by the listener from
    /// the cache: the fast path would skip that client's walk.
    func passThrough(_ reply: Response, for request: Request) -> Response {
        guard settings.namespace == nil, settings.podNamespace != nil, couldTriggerWalk(request.name) else { return reply }
        var r = reply
        r.cachedAnswer = nil
        if reply.rcode == .nxDomain { r.snapshotGeneration = nil }
        return r
    }

    /// True when `name` is `<typed…>.<some ns>.svc.<cd>`, the first search element of some pod.
    func couldTriggerWalk(_ name: DomainName) -> Bool {
        guard let prefix = name.labels(before: settings.clusterDomain), prefix.count >= 3 else { return false }
        return prefix[prefix.count - 1].asciiLowercased == "svc"
    }

    /// A walked answer may be pre-rendered for (name, type) only when it cannot differ between
    /// clients (a fixed namespace) and every step came from the same snapshot, so a new snapshot
    /// invalidates it; a forwarded step (nil) could change at any time.
    /// The walked answer depends on what every step did.
    func reusable(_ steps: [Response]) -> (UInt64?, AnswerDependencies) {
        guard settings.namespace != nil, let g = steps.first?.snapshotGeneration,
              steps.allSatisfy({ $0.snapshotGeneration == g }) else { return (nil, .anyChange) }
        return (g, steps.dropFirst().reduce(steps[0].dependencies) { $0.union($1.dependencies) })
    }

    /// The candidate's reply as the answer to the question asked: `<qname> CNAME <candidate>` first,
    /// then the reply's records, rcode, flags and EDNS options.
    func cnamed(_ reply: Response, to candidate: DomainName, for request: Request) -> Response {
        var m = reply.message
        m.header.id = request.message.header.id
        m.questions = request.message.questions
        let cname = ResourceRecord(name: request.question.name, type: .cname, ttl: settings.ttl, rdata: RData.name(candidate))
        m.answer.insert(cname, at: 0)
        return Response(message: m, snapshotGeneration: nil, answerKind: reply.answerKind)
    }
}
