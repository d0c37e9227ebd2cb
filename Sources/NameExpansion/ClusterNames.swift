/// The shape of a name under the cluster domain (Kubernetes DNS-Based Service Discovery 1.1.0).
/// Labels are lower-cased.
public enum ClusterName: Equatable, Sendable {
    /// `<cd>`
    case apex
    /// `dns-version.<cd>`
    case dnsVersion
    /// `svc.<cd>`: an empty non-terminal
    case serviceRoot
    /// `pod.<cd>`: an empty non-terminal
    case podRoot
    /// `<ns>.svc.<cd>`
    case namespace(String)
    /// `<svc>.<ns>.svc.<cd>`
    case service(service: String, namespace: String)
    /// `_<port>._<proto>.<svc>.<ns>.svc.<cd>`; `port` and `proto` without the underscore
    case srv(port: String, proto: String, service: String, namespace: String)
    /// `_<proto>.<svc>.<ns>.svc.<cd>`: an empty non-terminal when the service has a port of that protocol
    case srvProto(proto: String, service: String, namespace: String)
    /// `<host>.<svc>.<ns>.svc.<cd>`: an endpoint's hostname or dashed IP
    case endpoint(host: String, service: String, namespace: String)
    /// `<ns>.pod.<cd>`
    case podNamespace(String)
    /// `<a-b-c-d>.<ns>.pod.<cd>`
    case pod(dashedIP: String, namespace: String)
    /// Any other name under the cluster domain (NXDOMAIN unless another reading applies).
    case other
}

/// Parses names of the cluster zone.
public struct ClusterGrammar: Sendable {
    public let clusterDomain: DomainName

    public init(clusterDomain: DomainName) { self.clusterDomain = clusterDomain.lowercased }

    /// The shape of `name`, or nil when it is not at or below the cluster domain.
    public func parse(_ name: DomainName) -> ClusterName? {
        guard let rel = name.lowercased.labels(before: clusterDomain) else { return nil }
        let l = Array(rel.reversed())  // from the cluster domain outwards
        switch l.count {
        case 0: return .apex
        case 1:
            switch l[0] {
            case "dns-version": return .dnsVersion
            case "svc": return .serviceRoot
            case "pod": return .podRoot
            default: return .other
            }
        default: break
        }
        switch l[0] {
        case "svc":
            switch l.count {
            case 2: return .namespace(l[1])
            case 3: return .service(service: l[2], namespace: l[1])
            case 4:
                if l[3].hasPrefix("_") {
                    // A bare `_` names no protocol: nothing lives there.
                    guard let proto = Self.underscored(l[3]) else { return .other }
                    return .srvProto(proto: proto, service: l[2], namespace: l[1])
                }
                return .endpoint(host: l[3], service: l[2], namespace: l[1])
            case 5:
                guard let proto = Self.underscored(l[3]), let port = Self.underscored(l[4]) else { return .other }
                return .srv(port: port, proto: proto, service: l[2], namespace: l[1])
            default: return .other
            }
        case "pod":
            switch l.count {
            case 2: return .podNamespace(l[1])
            case 3: return .pod(dashedIP: l[2], namespace: l[1])
            default: return .other
            }
        default:
            return .other
        }
    }

    /// The label without its leading underscore, or nil when it has none or nothing follows it.
    static func underscored(_ label: String) -> String? {
        guard label.hasPrefix("_"), label.utf8.count > 1 else { return nil }
        return String(label.dropFirst())
    }

    /// `<svc>.<ns>.svc.<cd>`
    public func serviceName(_ service: String, namespace: String) -> DomainName {
        clusterDomain.prepending([service, namespace, "svc"])
    }
}
