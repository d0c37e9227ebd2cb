import ClusterState
import DNSWire
import Logging
import NameExpansion
import YAMLReader
import Synchronization

/// The federation rule (docs/behaviour.md): a federated service name is answered from the local cluster
/// when the local shard is healthy, else with a CNAME to the service's zonal (regional, global)
/// name in public DNS, chased through the upstream path. Other names go to `next`.
public struct FederationHandler: Handler {
    public static let handlerName = "federation"
    public var name: String { Self.handlerName }

    let settings: FederationConfig.Settings
    let soa: ClusterSOA
    let snapshot: @Sendable () -> ClusterSnapshot?
    let upstream: any UpstreamPath
    let logger: Logger
    let metrics: FederationMetrics
    let conflicts = ConflictLog()

    /// - Parameters:
    ///   - snapshot: the installed cluster snapshot; nil before the first complete sync.
    ///   - upstream: resolves the public target (local zones, cache, forward).
    public init(config: FederationConfig, snapshot: @escaping @Sendable () -> ClusterSnapshot?, upstream: any UpstreamPath,
                logger: Logger = Logger(label: "fedns.federation"), metrics: FederationMetrics = FederationMetrics()) throws(ConfigError) {
        let settings = try config.settings()
        self.settings = settings
        self.soa = ClusterSOA(clusterDomain: settings.grammar.clusterDomain, ttl: settings.ttl)
        self.snapshot = snapshot
        self.upstream = upstream
        self.logger = logger
        self.metrics = metrics
    }

    public func handle(_ request: Request, next: Next) async -> Response {
        guard request.question.class == .in, let match = settings.grammar.match(request.name) else { return await next(request) }
        guard let snap = snapshot() else {
            return .error(.servFail, to: request, ede: .notReady, text: "cluster state not synced yet")
        }
        // Rule 4: with a namespace named like the federation, the cluster reading comes first.
        if let federation = Self.clusterSuffixedFederation(match), snap.namespaces.contains(federation) {
            if case .federated = match { noteConflict(request, federation: federation) }
            let cluster = await next(request)
            guard cluster.rcode == .nxDomain, case .federated(let federated) = match else { return cluster }
            return await federate(request, federated, in: snap, next: next)
        }
        switch match {
        case .invalidUnderFederation:
            var m = Message.response(to: request.message, rcode: .nxDomain)
            m.header.authoritative = true
            m.authority = [soa.record(owner: settings.grammar.clusterDomain, serial: snap)]
            return Response(message: m, snapshotGeneration: snap.generation, dependencies: .unkeyed)
        case .federated(let federated):
            return await federate(request, federated, in: snap, next: next)
        }
    }

    func federate(_ request: Request, _ name: FederatedName, in snap: ClusterSnapshot, next: Next) async -> Response {
        let key = ServiceKey(namespace: name.namespace, name: name.service)
        if let service = snap.services[key], snap.isHealthy(service) {
            let localName = settings.grammar.localName(for: name)
            var local = await next(request.rewritten(name: localName))
            // The local answer also depends on the health that chose it.
            local.dependencies = local.dependencies.union(.service(key))
            metrics.count(.local)
            return Self.rewrite(local, from: localName, to: request)
        }
        let (target, kind) = settings.grammar.target(for: name, zone: settings.zone ?? snap.node?.zone,
                                                      region: settings.region ?? snap.node?.region, format: settings.format)
        let result = FederationResult(kind)
        metrics.count(result)
        let cname = ResourceRecord(name: request.question.name, type: .cname, ttl: settings.ttl, rdata: RData.name(target))
        if request.type == .cname {
            var m = Message.response(to: request.message)
            m.header.authoritative = true
            m.answer = [cname]
            // The Service's health chose the CNAME; the node's topology (a change to everything) shaped it.
            return Response(message: m, snapshotGeneration: snap.generation, dependencies: .service(key), answerKind: result.answerKind)
        }
        var (response, _) = await CNAMEChase.complete(request, cname: cname, target: target) { await upstream.resolve($0) }
        response.federationResult = result
        return response
    }

    /// The local answer as the answer to the federated question: the question restored and the local
    /// name, wherever it owns a record, replaced by the queried name (other owners are kept).
    static func rewrite(_ local: Response, from localName: DomainName, to request: Request) -> Response {
        func renamed(_ records: [ResourceRecord]) -> [ResourceRecord] {
            records.map { record in
                guard record.name == localName else { return record }
                var r = record
                r.name = request.question.name
                return r
            }
        }
        var m = local.message
        m.questions = request.message.questions
        m.answer = renamed(m.answer)
        m.authority = renamed(m.authority)
        m.additional = renamed(m.additional)
        return Response(message: m, snapshotGeneration: local.snapshotGeneration, dependencies: local.dependencies,
                        answerKind: FederationResult.local.answerKind)
    }

    /// The federation label of a name under `<fed>.svc.<cd>` that also has a cluster reading when a
    /// namespace is named `<fed>`; SRV-shaped federated names have none (six labels before `svc`).
    static func clusterSuffixedFederation(_ match: FederationMatch) -> String? {
        switch match {
        case .invalidUnderFederation(let federation): return federation
        case .federated(let name): return name.shape == .clusterSuffixed && name.srv == nil ? name.federation : nil
        }
    }

    func noteConflict(_ request: Request, federation: String) {
        metrics.countConflict()
        guard conflicts.firstTime(request.name) else { return }
        logger.info("a namespace has the name of a federation: trying the cluster reading first", metadata: [
            "dns.qname": "\(request.name)", "federation.name": "\(federation)",
        ])
    }
}

/// Remembers which names a conflict was logged for, so each is logged once; bounded.
final class ConflictLog: Sendable {
    static let capacity = 1024
    private let seen = Mutex<Set<DomainName>>([])

    /// True the first time `name` is seen (again after the memory fills and is cleared).
    func firstTime(_ name: DomainName) -> Bool {
        seen.withLock { seen in
            if seen.count >= Self.capacity { seen.removeAll() }
            return seen.insert(name).inserted
        }
    }
}
