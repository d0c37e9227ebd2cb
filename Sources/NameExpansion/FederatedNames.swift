/// How the zonal name of a federated service is formed (docs/behaviour.md, the federation rule).
public enum ZonalNameFormat: String, Sendable, CaseIterable {
    /// `<prefix>.svc.<zone>.<domain>`
    case zone
    /// `<prefix>.svc.<zone>.<region>.<domain>` (kube-dns and federation v1)
    case zoneRegion = "zone-region"
}

/// Which public name a CNAME for an unhealthy federated service points at.
public enum FederationTargetKind: String, Sendable {
    case zonal, regional, global
}

/// A federated service name, parsed (docs/behaviour.md, the cluster zone and the federation rule).
public struct FederatedName: Equatable, Sendable {
    public enum Shape: Sendable, Equatable {
        /// `<svc>.<ns>.<fed>.svc.<cd>` (what arrives through a pod's search path)
        case clusterSuffixed
        /// `<svc>.<ns>.<fed>`
        case bare
    }
    public var service: String
    public var namespace: String
    public var federation: String
    /// `(port, proto)` without underscores, for `_<port>._<proto>.<svc>.<ns>.<fed>…`
    public var srv: (port: String, proto: String)?
    public var shape: Shape
    /// The queried labels before `.svc.<cd>` (or the whole bare name), lower-cased:
    /// e.g. `_http._tcp.nginx.mynamespace.myfederation`.
    public var prefix: [String]

    public init(service: String, namespace: String, federation: String, srv: (port: String, proto: String)?, shape: Shape, prefix: [String]) {
        self.service = service; self.namespace = namespace; self.federation = federation
        self.srv = srv; self.shape = shape; self.prefix = prefix
    }

    public static func == (a: FederatedName, b: FederatedName) -> Bool {
        a.service == b.service && a.namespace == b.namespace && a.federation == b.federation
            && a.srv?.port == b.srv?.port && a.srv?.proto == b.srv?.proto && a.shape == b.shape && a.prefix == b.prefix
    }
}

/// The result of looking at a name with the configured federations.
public enum FederationMatch: Equatable, Sendable {
    /// A federated service name.
    case federated(FederatedName)
    /// A name under a federation label of the cluster zone that has no federated shape
    /// (e.g. `<ns>.<fed>.svc.<cd>`): NXDOMAIN.
    case invalidUnderFederation(federation: String)
}

/// Parses federated names and builds their public targets (docs/behaviour.md, the federation rule).
public struct FederationGrammar: Sendable {
    public let clusterDomain: DomainName
    /// federation name (lower-cased) → public domain
    public let federations: [String: DomainName]

    public init(clusterDomain: DomainName, federations: [String: DomainName]) {
        self.clusterDomain = clusterDomain.lowercased
        var f: [String: DomainName] = [:]
        for (k, v) in federations { f[k.asciiLowercased] = v.lowercased }
        self.federations = f
    }

    /// The federated reading of `name`, if any: nil when the label before `svc.<cd>` (or the last
    /// label of a bare name) is not a configured federation, or a bare name has no federated shape.
    ///
    /// ```text
    /// <svc>.<ns>.<fed>.svc.<cd>                  clusterSuffixed
    /// _<port>._<proto>.<svc>.<ns>.<fed>.svc.<cd> clusterSuffixed, SRV
    /// <svc>.<ns>.<fed>                           bare
    /// _<port>._<proto>.<svc>.<ns>.<fed>          bare, SRV
    /// ```
    public func match(_ name: DomainName) -> FederationMatch? {
        let lower = name.lowercased
        if let rel = lower.labels(before: clusterDomain) {
            // <...>.<fed>.svc.<cd>; `<fed>.svc.<cd>` itself is not *under* the federation label, so
            // its namespace reading (an empty non-terminal or NXDOMAIN) applies (docs/behaviour.md, federation rule 4).
            guard rel.count >= 3, rel[rel.count - 1] == "svc" else { return nil }
            let fed = rel[rel.count - 2]
            guard federations[fed] != nil else { return nil }
            let prefix = Array(rel.dropLast(1))
            if let parsed = parsePrefix(prefix, shape: .clusterSuffixed) { return .federated(parsed) }
            return .invalidUnderFederation(federation: fed)
        }
        let l = lower.labels
        guard let fed = l.last, federations[fed] != nil else { return nil }
        return parsePrefix(l, shape: .bare).map(FederationMatch.federated)
    }

    /// `prefix` ends with the federation label.
    private func parsePrefix(_ prefix: [String], shape: FederatedName.Shape) -> FederatedName? {
        let fed = prefix[prefix.count - 1]
        switch prefix.count {
        case 3:
            guard !prefix[0].hasPrefix("_"), !prefix[1].hasPrefix("_") else { return nil }
            return FederatedName(service: prefix[0], namespace: prefix[1], federation: fed, srv: nil, shape: shape, prefix: prefix)
        case 5:
            guard prefix[0].hasPrefix("_"), prefix[1].hasPrefix("_"), prefix[0].count > 1, prefix[1].count > 1,
                  !prefix[2].hasPrefix("_"), !prefix[3].hasPrefix("_") else { return nil }
            return FederatedName(service: prefix[2], namespace: prefix[3], federation: fed,
                                 srv: (String(prefix[0].dropFirst()), String(prefix[1].dropFirst())), shape: shape, prefix: prefix)
        default:
            return nil
        }
    }

    /// The public name an unhealthy federated service is sent to, with its kind.
    /// Zonal when the format's labels are known, else regional, else global.
    public func target(for name: FederatedName, zone: String?, region: String?, format: ZonalNameFormat) -> (name: DomainName, kind: FederationTargetKind) {
        let domain = federations[name.federation] ?? .root
        let base = name.prefix + ["svc"]
        let zone = zone.flatMap { $0.isEmpty ? nil : $0.asciiLowercased }
        let region = region.flatMap { $0.isEmpty ? nil : $0.asciiLowercased }
        switch (format, zone, region) {
        case (.zone, let z?, _):
            return (domain.prepending(base + [z]), .zonal)
        case (.zoneRegion, let z?, let r?):
            return (domain.prepending(base + [z, r]), .zonal)
        case (_, _, let r?):
            return (domain.prepending(base + [r]), .regional)
        default:
            return (domain.prepending(base), .global)
        }
    }

    /// The same name without the federation label: the local cluster name federation asks about.
    public func localName(for name: FederatedName) -> DomainName {
        var labels = name.prefix
        labels.removeLast()
        return clusterDomain.prepending(labels + ["svc"])
    }
}
