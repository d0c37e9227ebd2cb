import ClusterState
import DNSWire
import NameExpansion
import YAMLReader

/// Answers the cluster zone from the cluster snapshot (docs/behaviour.md; Kubernetes DNS-Based Service
/// Discovery 1.1.0): Services, SRV for named ports, endpoints, pods, `dns-version`, the apex,
/// and PTR for ClusterIPs and published endpoint addresses. Other names go to `next`. ANY never
/// arrives here: the engine answers it first (RFC 8482).
public struct ClusterZoneHandler: Handler {
    public let name = "cluster-zone"

    let settings: ClusterZoneConfig.Settings
    let grammar: ClusterGrammar
    let soa: ClusterSOA
    let snapshot: @Sendable () -> ClusterSnapshot?
    let upstream: any UpstreamPath
    let metrics: ClusterZoneMetrics

    /// ExternalName targets inside the cluster zone are followed here; this bounds a loop of them.
    static let maxChaseDepth = 8
    /// `dns-version.<cd>` TXT TTL (spec 1.1.0 §2.2).
    static let versionTTL: UInt32 = 28800
    static let specVersion = "1.1.0"

    /// - Parameters:
    ///   - snapshot: the installed cluster snapshot; nil before the first complete sync.
    ///   - upstream: resolves ExternalName targets outside the cluster zone (local zones, cache, forward).
    public init(config: ClusterZoneConfig, snapshot: @escaping @Sendable () -> ClusterSnapshot?,
                upstream: any UpstreamPath, metrics: ClusterZoneMetrics = ClusterZoneMetrics()) throws(ConfigError) {
        let settings = try config.settings()
        self.settings = settings
        self.grammar = ClusterGrammar(clusterDomain: settings.clusterDomain)
        self.soa = ClusterSOA(clusterDomain: settings.clusterDomain, ttl: settings.ttl)
        self.snapshot = snapshot
        self.upstream = upstream
        self.metrics = metrics
    }

    public func handle(_ request: Request, next: Next) async -> Response {
        guard request.question.class == .in else { return await next(request) }
        if let shape = grammar.parse(request.name) {
            guard let snap = snapshot() else {
                metrics.count(.notReady)
                return .error(.servFail, to: request, ede: .notReady, text: "cluster state not synced yet")
            }
            return await answer(request, shape: shape, in: snap, depth: 0)
        }
        // Reverse names we hold answer here; every other one is forwarded, before the first sync too.
        guard ReverseName.isReverse(request.name) else { return await next(request) }
        if let snap = snapshot(), let response = reverseAnswer(request, in: snap) {
            metrics.count(response.message.answer.isEmpty ? .nodata : .answer)
            return response
        }
        var forwarded = await next(request)
        // Forwarded because no Service or endpoint holds the address: one that comes to hold it answers here.
        if let address = ReverseName.address(from: request.name) {
            forwarded.dependencies = forwarded.dependencies.union(.keys([.address(address)]))
        }
        return forwarded
    }

    // MARK: - Forward names

    func answer(_ request: Request, shape: ClusterName, in snap: ClusterSnapshot, depth: Int) async -> Response {
        let owner = request.question.name  // answers echo the question's case
        let uses = dependencies(of: shape)
        switch node(for: shape, owner: owner, in: snap) {
        case .missing:
            metrics.count(.nxdomain)
            return negative(request, rcode: .nxDomain, in: snap, uses: uses)
        case .data(let records, let additional):
            let selected = records.filter { $0.type == request.type }
            guard !selected.isEmpty else {
                metrics.count(.nodata)
                return negative(request, rcode: .noError, in: snap, uses: uses)
            }
            metrics.count(.answer)
            return positive(request, answer: selected, additional: additional[request.type] ?? [], in: snap, uses: uses)
        case .alias(let target):
            let cname = record(owner, .cname, RData.name(target))
            if request.type == .cname {
                metrics.count(.answer)
                return positive(request, answer: [cname], additional: [], in: snap, uses: uses)
            }
            guard depth < Self.maxChaseDepth else {
                metrics.count(.chaseFailed)
                return .error(.servFail, to: request, ede: .other, text: "ExternalName chain longer than \(Self.maxChaseDepth)")
            }
            let (response, outcome) = await CNAMEChase.complete(request, cname: cname, target: target) { sub in
                // In-zone targets are ours to answer: the upstream path does not include this handler.
                if let subShape = grammar.parse(sub.name) { return await answer(sub, shape: subShape, in: snap, depth: depth + 1) }
                return await upstream.resolve(sub)
            }
            metrics.count(outcome == .completed ? .answer : .chaseFailed)
            return response
        }
    }

    /// What the answer at a name is derived from: its Service's objects, its address, or only what
    /// changes everything (namespaces appearing or going). The apex SOA's serial is the generation.
    func dependencies(of shape: ClusterName) -> AnswerDependencies {
        switch shape {
        case .apex:
            return .anyChange
        case .service(let name, let namespace), .srvProto(_, let name, let namespace), .srv(_, _, let name, let namespace),
             .endpoint(_, let name, let namespace):
            return .service(ServiceKey(namespace: namespace, name: name))
        case .pod(let dashed, _):
            return Self.address(fromDashed: dashed).map { .keys([.address($0)]) } ?? .unkeyed
        case .dnsVersion, .serviceRoot, .podRoot, .namespace, .podNamespace, .other:
            return .unkeyed
        }
    }

    /// What the zone holds at one name.
    enum ZoneNode {
        case missing
        /// The RRsets at the name (none: an empty non-terminal), and the additional records by asked type.
        case data([ResourceRecord], additional: [RRType: [ResourceRecord]])
        /// An ExternalName Service: a CNAME to chase.
        case alias(DomainName)

        static let emptyNonTerminal = ZoneNode.data([], additional: [:])
    }

    func node(for shape: ClusterName, owner: DomainName, in snap: ClusterSnapshot) -> ZoneNode {
        switch shape {
        case .apex:
            return .data([soa.record(owner: owner, serial: snap), record(owner, .ns, RData.name(soa.nameServer))], additional: [:])
        case .dnsVersion:
            let txt = ResourceRecord(name: owner, type: .txt, ttl: Self.versionTTL, rdata: RData.txt([Self.specVersion]))
            return .data([txt], additional: [:])
        case .serviceRoot, .podRoot:
            return .emptyNonTerminal
        case .namespace(let namespace):
            return snap.namespaces.contains(namespace) ? .emptyNonTerminal : .missing
        case .service(let name, let namespace):
            guard let service = snap.service(name, namespace: namespace) else { return .missing }
            return serviceNode(service, owner: owner, in: snap)
        case .srvProto(let proto, let name, let namespace):
            guard let service = snap.service(name, namespace: namespace),
                  !srvTargets(of: service, port: nil, proto: proto, in: snap).isEmpty else { return .missing }
            return .emptyNonTerminal
        case .srv(let port, let proto, let name, let namespace):
            guard let service = snap.service(name, namespace: namespace) else { return .missing }
            return srvNode(srvTargets(of: service, port: port, proto: proto, in: snap), owner: owner)
        case .endpoint(let host, let name, let namespace):
            // Any Service with published endpoints names them (ClusterIP too, as its PTR answers do).
            guard let service = snap.service(name, namespace: namespace) else { return .missing }
            let matching = snap.endpoint(host, of: service)
            return matching.isEmpty ? .missing : .data(matching.compactMap { addressRecord(owner, $0.address) }, additional: [:])
        case .podNamespace(let namespace):
            switch settings.pods {
            case .disabled: return .missing
            case .insecure: return .emptyNonTerminal
            case .verified: return snap.hasPods(inNamespace: namespace) ? .emptyNonTerminal : .missing
            }
        case .pod(let dashed, let namespace):
            guard settings.pods != .disabled, let address = Self.address(fromDashed: dashed) else { return .missing }
            if settings.pods == .verified, snap.podsByIP[address]?.namespace != namespace { return .missing }
            return .data([addressRecord(owner, address)].compactMap { $0 }, additional: [:])
        case .other:
            return .missing
        }
    }

    /// ClusterIP: its addresses; headless: every published endpoint address (NXDOMAIN when none);
    /// ExternalName: a CNAME.
    func serviceNode(_ service: Service, owner: DomainName, in snap: ClusterSnapshot) -> ZoneNode {
        switch service.kind {
        case .clusterIP(let ips):
            return .data(ips.compactMap { addressRecord(owner, $0) }, additional: [:])
        case .headless:
            let published = snap.readyAddresses(of: service)
            return published.isEmpty ? .missing : .data(published.compactMap { addressRecord(owner, $0.address) }, additional: [:])
        case .externalName(let target):
            return .alias(target)
        }
    }

    /// One SRV target of a named port, with the addresses that go to the additional section.
    struct SRVTarget: Equatable {
        var port: Int
        var target: DomainName
        var addresses: [String]
    }

    /// The targets of `_<port>._<proto>.<svc>…`; with `port` nil, of every named port of `proto`.
    ///
    /// ClusterIP: the Service name; headless: each published endpoint's name, with the ports of its
    /// EndpointSlice; ExternalName: the external name (as CoreDNS does).
    func srvTargets(of service: Service, port: String?, proto: String, in snap: ClusterSnapshot) -> [SRVTarget] {
        func matches(_ spec: PortSpec) -> Bool {
            guard let name = spec.name, !name.isEmpty, spec.proto == proto, UInt16(exactly: spec.port) != nil else { return false }
            return port == nil || name == port
        }
        let serviceName = grammar.serviceName(service.key.name, namespace: service.key.namespace)
        switch service.kind {
        case .clusterIP(let ips):
            return service.ports.filter(matches).map { SRVTarget(port: $0.port, target: serviceName, addresses: ips) }
        case .externalName(let target):
            return service.ports.filter(matches).map { SRVTarget(port: $0.port, target: target, addresses: []) }
        case .headless:
            var targets: [SRVTarget] = []
            for published in snap.readyAddresses(of: service) {
                let target = serviceName.prepending([published.label])
                for spec in published.ports where matches(spec) {
                    // Dual-stack endpoints share one name: one SRV, both addresses in additional.
                    if let i = targets.firstIndex(where: { $0.target == target && $0.port == spec.port }) {
                        targets[i].addresses.append(published.address)
                    } else {
                        targets.append(SRVTarget(port: spec.port, target: target, addresses: [published.address]))
                    }
                }
            }
            return targets
        }
    }

    /// Priority 0 and weight ⌊100 / n⌋ (at least 1) for n records, as CoreDNS computes it.
    func srvNode(_ targets: [SRVTarget], owner: DomainName) -> ZoneNode {
        guard !targets.isEmpty else { return .missing }
        let weight = UInt16(max(1, 100 / targets.count))
        var records: [ResourceRecord] = []
        var extra: [ResourceRecord] = []
        for t in targets {
            records.append(record(owner, .srv, RData.srv(priority: 0, weight: weight, port: UInt16(t.port), target: t.target)))
            for address in t.addresses {
                if let a = addressRecord(t.target, address), !extra.contains(a) { extra.append(a) }
            }
        }
        return .data(records, additional: [.srv: extra])
    }

    // MARK: - Reverse names

    /// PTR for an address in the snapshot's reverse index; nil for any other reverse name (forwarded).
    func reverseAnswer(_ request: Request, in snap: ClusterSnapshot) -> Response? {
        guard let address = ReverseName.address(from: request.name),
              let entries = snap.reverseIndex[address], !entries.isEmpty else { return nil }
        var targets: [DomainName] = []
        for entry in entries {
            let service = grammar.serviceName(entry.service.name, namespace: entry.service.namespace)
            let target = entry.endpointHost.map { service.prepending([$0]) } ?? service
            if !targets.contains(target) { targets.append(target) }
        }
        guard request.type == .ptr else {
            // NODATA under the reverse zone's own apex, as CoreDNS does for the reverse zones it serves.
            let apex = request.name.isSubdomain(of: ReverseName.inAddrArpa) ? ReverseName.inAddrArpa : ReverseName.ip6Arpa
            var m = Message.response(to: request.message)
            m.header.authoritative = true
            m.authority = [soa.record(owner: apex, serial: snap)]
            return Response(message: m, snapshotGeneration: snap.generation, dependencies: .keys([.address(address)]))
        }
        let owner = request.question.name
        return positive(request, answer: targets.map { record(owner, .ptr, RData.name($0)) }, additional: [], in: snap,
                        uses: .keys([.address(address)]))
    }

    // MARK: - Building responses

    func positive(_ request: Request, answer: [ResourceRecord], additional: [ResourceRecord], in snap: ClusterSnapshot,
                  uses: AnswerDependencies) -> Response {
        var m = Message.response(to: request.message)
        m.header.authoritative = true
        m.answer = answer
        m.additional = additional
        return Response(message: m, snapshotGeneration: snap.generation, dependencies: uses)
    }

    /// NXDOMAIN or NODATA with the cluster SOA in authority (RFC 2308).
    func negative(_ request: Request, rcode: RCode, in snap: ClusterSnapshot, uses: AnswerDependencies) -> Response {
        var m = Message.response(to: request.message, rcode: rcode)
        m.header.authoritative = true
        m.authority = [soa.record(owner: settings.clusterDomain, serial: snap)]
        return Response(message: m, snapshotGeneration: snap.generation, dependencies: uses)
    }

    func record(_ owner: DomainName, _ type: RRType, _ rdata: [UInt8]) -> ResourceRecord {
        ResourceRecord(name: owner, type: type, ttl: settings.ttl, rdata: rdata)
    }

    /// A or AAAA by the address's family; nil when it is not an address.
    func addressRecord(_ owner: DomainName, _ address: String) -> ResourceRecord? {
        if let v4 = IPAddress.v4Bytes(address) { return record(owner, .a, v4) }
        if let v6 = IPAddress.v6Bytes(address) { return record(owner, .aaaa, v6) }
        return nil
    }

    /// The canonical address a pod label stands for: `10-1-2-3` → `10.1.2.3`, `fd00--1` → `fd00::1`.
    static func address(fromDashed label: String) -> String? {
        let dotted = String(label.map { $0 == "-" ? "." : $0 })
        if IPAddress.v4Bytes(dotted) != nil { return IPAddress.canonical(dotted) }
        return IPAddress.canonical(String(label.map { $0 == "-" ? ":" : $0 }))
    }
}
