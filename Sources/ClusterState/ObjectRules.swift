import NameExpansion
import YAMLReader

/// A value inside a Kubernetes object as a reader delivers it, with its key path and line: the YAML
/// reader's ``YAMLField`` (state files through Yams) or ``JSONField`` (the streaming JSON decoder).
/// The field rules (``ObjectRules``) read every object through this, so both readers check the same
/// fields with the same messages.
///
/// Scalars are read as the API reads them: `string()` takes any scalar's text, `bool()` only a
/// boolean, `int(in:)` only an unquoted integer; each failure is a `ConfigError` whose problem the
/// rules pass on.
protocol ObjectValue {
    /// A missing key or an explicit null.
    var isAbsent: Bool { get }
    var isMapping: Bool { get }
    /// The key path from the object's root (`spec.ports[0].port`); empty at the root.
    var path: String { get }
    var line: Int? { get }
    var file: String? { get }
    /// The same value under another path (a list item read as an object of its own).
    func renamed(_ path: String) -> Self
    /// `path.key`; absent when this is absent or not a mapping.
    subscript(key: String) -> Self { get }
    /// `path["key"]`, for keys with dots such as labels.
    func label(_ key: String) -> Self
    /// `path[i]` (a field that need not exist, for messages).
    func at(_ index: Int) -> Self
    /// The elements of a list; none when absent.
    func items() throws(ConfigError) -> [Self]
    func string() throws(ConfigError) -> String?
    func bool() throws(ConfigError) -> Bool?
    func int(in range: ClosedRange<Int>) throws(ConfigError) -> Int?
}

extension YAMLField: ObjectValue {}

/// Which object a field belongs to, for error messages. A class: every field of an object shares it.
final class ObjectID {
    let kind: String
    let namespace: String?
    let name: String?
    init(kind: String, namespace: String? = nil, name: String? = nil) {
        self.kind = kind; self.namespace = namespace; self.name = name
    }
}

/// A position in an object: the reader's value (path, file, line) and the object it belongs to, so
/// an error names kind, namespace/name, key, file and line.
struct Field<Value: ObjectValue> {
    let value: Value
    var object: ObjectID

    var isAbsent: Bool { value.isAbsent }
    var isMapping: Bool { value.isMapping }

    func fail(_ problem: String) -> ObjectError {
        ObjectError(kind: object.kind, namespace: object.namespace, name: object.name,
                    field: value.path.isEmpty ? "(object)" : value.path, problem: problem, line: value.line, file: value.file)
    }

    func within(_ id: ObjectID) -> Field { Field(value: value.renamed(""), object: id) }

    /// `path.key`
    subscript(key: String) -> Field { Field(value: value[key], object: object) }

    /// `path["key"]`, for keys with dots such as labels.
    func label(_ key: String) -> Field { Field(value: value.label(key), object: object) }

    /// `path[i]` (a field that need not exist, for messages).
    func at(_ index: Int) -> Field { Field(value: value.at(index), object: object) }

    /// The elements of a list; none when absent or null.
    func items() throws(ObjectError) -> [Field] {
        do { return try value.items().map { Field(value: $0, object: object) } } catch { throw fail("expected a list") }
    }

    /// `self`, checked to be a mapping (or absent).
    @discardableResult
    func mapping() throws(ObjectError) -> Field {
        if !isAbsent && !isMapping { throw fail("expected a mapping") }
        return self
    }

    func mappingIfPresent() throws(ObjectError) -> Field? {
        isAbsent ? nil : try mapping()
    }

    func string() throws(ObjectError) -> String? {
        do { return try value.string() } catch { throw fail("expected a string") }
    }

    func requiredString() throws(ObjectError) -> String {
        guard let s = try string() else { throw fail("missing") }
        return s
    }

    /// A boolean (`true`/`false`); a quoted string is an error, as in the API.
    func bool() throws(ObjectError) -> Bool? {
        do { return try value.bool() } catch { throw fail("expected true or false") }
    }

    /// A decimal integer within `range`; a quoted number is an error, as in the API.
    func int(in range: ClosedRange<Int>) throws(ObjectError) -> Int? {
        do { return try value.int(in: range) } catch { throw fail(error.problem) }
    }

    /// Reads `metadata.name` and `metadata.namespace` (default `default`) into the object's identity.
    func identified(namespaced: Bool, nameIsLabel: Bool) throws(ObjectError) -> Field {
        let metadata = try self["metadata"].mapping()
        var namespace: String?
        if namespaced {
            namespace = try metadata["namespace"].string().flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        }
        var scoped = self
        scoped.object = ObjectID(kind: object.kind, namespace: namespace)
        guard let name = try metadata["name"].string(), !name.isEmpty else { throw scoped["metadata"]["name"].fail("missing") }
        scoped.object = ObjectID(kind: object.kind, namespace: namespace, name: name)
        if let ns = scoped.object.namespace, !ObjectRules.isLabel(ns) {
            throw scoped["metadata"]["namespace"].fail("'\(ns)' is not a DNS label")
        }
        if nameIsLabel, !ObjectRules.isLabel(name) {
            throw scoped["metadata"]["name"].fail("'\(name)' is not a DNS label")
        }
        return scoped
    }
}

/// The one place that knows which fields of v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Node,
/// v1 Namespace and v1 Pod DNS reads and what makes them valid — for the YAML reader and the JSON
/// decoder alike. Each reader returns the slim model object and the field scoped to its identity.
/// Strings that repeat across objects (namespaces, node names, port names, zones) go through `interner`.
struct ObjectRules {
    let interner: Interner

    /// The kinds DNS reads, by the name objects carry in `kind`.
    static let kindNames: [ObjectKind: String] = [
        .service: "Service", .endpointSlice: "EndpointSlice", .namespace: "Namespace", .node: "Node", .pod: "Pod",
    ]

    /// v1 Service.
    func readService<V>(_ object: Field<V>) throws(ObjectError) -> (Service, Field<V>) {
        let object = try object.identified(namespaced: true, nameIsLabel: true)
        let key = ServiceKey(namespace: interner.intern(object.object.namespace!), name: object.object.name!)
        let spec = try object["spec"].mapping()
        let type = try spec["type"].string() ?? "ClusterIP"
        let ports = try spec["ports"].items().map { port throws(ObjectError) in try readPort(port, requireNumber: true)! }
        let publishNotReady = try spec["publishNotReadyAddresses"].bool() ?? false
        let kind: Service.Kind
        switch type {
        case "ExternalName":
            kind = .externalName(try readExternalName(spec["externalName"]))
        case "ClusterIP", "NodePort", "LoadBalancer":
            kind = try readClusterIPs(spec)
        default:
            throw spec["type"].fail("unknown Service type '\(type)' (ClusterIP, NodePort, LoadBalancer or ExternalName)")
        }
        let federation = try object["metadata"]["labels"].label(Self.federationLabel).string().flatMap { $0.isEmpty ? nil : $0 }
        var ips: [String] = []
        var hostnames: [DomainName] = []
        for ingress in try object["status"]["loadBalancer"]["ingress"].items() {
            _ = try ingress.mapping()
            if let text = try ingress["ip"].string(), !text.isEmpty {
                guard let ip = IPAddress.canonical(text) else { throw ingress["ip"].fail("'\(text)' is not an IP address") }
                if !ips.contains(ip) { ips.append(ip) }
            }
            if let text = try ingress["hostname"].string(), !text.isEmpty {
                guard let name = Self.dnsName(text) else { throw ingress["hostname"].fail("'\(text)' is not a DNS name") }
                if !hostnames.contains(name.lowercased) { hostnames.append(name.lowercased) }
            }
        }
        let service = Service(key: key, kind: kind, ports: ports, publishNotReadyAddresses: publishNotReady,
                              federation: federation.map(interner.intern), loadBalancerIPs: ips, loadBalancerHostnames: hostnames)
        return (service, object)
    }

    /// `spec.clusterIP` / `spec.clusterIPs` / `spec.ipFamilies` of a non-ExternalName Service.
    func readClusterIPs<V>(_ spec: Field<V>) throws(ObjectError) -> Service.Kind {
        let single = try spec["clusterIP"].string().flatMap { $0.isEmpty ? nil : $0 }
        let list = try spec["clusterIPs"].items()
        let texts = try list.map { f throws(ObjectError) in try f.requiredString() }
        if single == "None" || texts.first == "None" {
            if texts.count > 1 { throw list[1].fail("a headless Service has only 'None'") }
            if let single, single != "None" { throw spec["clusterIPs"].at(0).fail("'None' but spec.clusterIP is '\(single)'") }
            return .headless
        }
        var ips: [String] = []
        var fields: [Field<V>] = []
        if texts.isEmpty {
            guard let single else {
                throw spec["clusterIP"].fail("missing: a Service needs a ClusterIP (or 'None' for a headless Service)")
            }
            fields = [spec["clusterIP"]]
            ips = [single]
        } else {
            fields = list
            ips = texts
        }
        let canonical = try zip(ips, fields).map { ip, f throws(ObjectError) in
            guard let c = IPAddress.canonical(ip) else { throw f.fail("'\(ip)' is not an IP address") }
            return c
        }
        if let single, !texts.isEmpty, IPAddress.canonical(single) != canonical[0] {
            throw list[0].fail("'\(texts[0])' differs from spec.clusterIP '\(single)'")
        }
        guard canonical.count <= 2 else { throw list[2].fail("a Service has at most two ClusterIPs (one per IP family)") }
        if canonical.count == 2, Self.family(canonical[0]) == Self.family(canonical[1]) {
            throw list[1].fail("same IP family as spec.clusterIPs[0]; dual-stack needs one IPv4 and one IPv6 address")
        }
        for (i, family) in try spec["ipFamilies"].items().enumerated() {
            let value = try family.requiredString()
            guard value == "IPv4" || value == "IPv6" else { throw family.fail("unknown IP family '\(value)' (IPv4 or IPv6)") }
            if i < canonical.count, Self.family(canonical[i]) != value {
                throw fields[i].fail("'\(ips[i])' is not \(value) as spec.ipFamilies[\(i)] says")
            }
        }
        return .clusterIP(canonical)
    }

    static func family(_ canonicalIP: String) -> String { canonicalIP.contains(":") ? "IPv6" : "IPv4" }

    /// `spec.externalName`: an RFC 1123 subdomain, a trailing dot allowed.
    func readExternalName<V>(_ field: Field<V>) throws(ObjectError) -> DomainName {
        guard let text = try field.string(), !text.isEmpty else {
            throw field.fail("missing: an ExternalName Service needs a DNS name")
        }
        guard let name = Self.dnsName(text) else { throw field.fail("'\(text)' is not a DNS name") }
        return name
    }

    /// A DNS name of LDH labels (RFC 1123), a trailing dot allowed, at least one label.
    static func dnsName(_ text: String) -> DomainName? {
        guard let name = try? DomainName(text), !name.isRoot, name.labels.allSatisfy(isLabel) else { return nil }
        return name
    }

    /// An RFC 1123 label: letters, digits and inner hyphens, 1…63 characters (any case).
    static func isLabel(_ label: String) -> Bool {
        var label = label
        return label.withUTF8 { bytes in
            guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
            return bytes.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-")
            }
        }
    }

    /// A port of a Service (`port` required) or of an EndpointSlice (`port` may be absent: then nil).
    func readPort<V>(_ port: Field<V>, requireNumber: Bool) throws(ObjectError) -> PortSpec? {
        _ = try port.mapping()
        let name = try port["name"].string().flatMap { $0.isEmpty ? nil : $0 }
        if let name, !Self.isLabel(name) { throw port["name"].fail("'\(name)' is not a DNS label") }
        let proto = try port["protocol"].string() ?? "TCP"
        guard ["tcp", "udp", "sctp"].contains(proto.asciiLowercased) else {
            throw port["protocol"].fail("unknown protocol '\(proto)' (TCP, UDP or SCTP)")
        }
        guard let number = try port["port"].int(in: 1...65535) else {
            if requireNumber { throw port["port"].fail("missing") }
            return nil  // an EndpointSlice port without a number means "all ports": nothing for SRV
        }
        return PortSpec(name: name.map(interner.intern), proto: proto, port: number)
    }

    /// discovery.k8s.io/v1 EndpointSlice.
    func readEndpointSlice<V>(_ object: Field<V>) throws(ObjectError) -> (EndpointSlice, Field<V>) {
        let object = try object.identified(namespaced: true, nameIsLabel: false)
        let label = object["metadata"]["labels"].label("kubernetes.io/service-name")
        guard let service = try label.string(), !service.isEmpty else {
            throw label.fail("missing: an EndpointSlice names its Service with this label")
        }
        let addressType = try object["addressType"].string()
        guard let addressType else { throw object["addressType"].fail("missing") }
        guard ["IPv4", "IPv6", "FQDN"].contains(addressType) else {
            throw object["addressType"].fail("unknown address type '\(addressType)' (IPv4, IPv6 or FQDN)")
        }
        let endpoints = try object["endpoints"].items().map { e throws(ObjectError) in try readEndpoint(e, addressType: addressType) }
        var ports: [PortSpec] = []
        for p in try object["ports"].items() {
            if let port = try readPort(p, requireNumber: false) { ports.append(port) }
        }
        let owner = ServiceKey(namespace: interner.intern(object.object.namespace!), name: interner.intern(service))
        let slice = EndpointSlice(name: object.object.name!, service: owner, addressType: addressType, endpoints: endpoints, ports: ports)
        return (slice, object)
    }

    func readEndpoint<V>(_ endpoint: Field<V>, addressType: String) throws(ObjectError) -> Endpoint {
        _ = try endpoint.mapping()
        let addressFields = try endpoint["addresses"].items()
        guard !addressFields.isEmpty else { throw endpoint["addresses"].fail("an endpoint needs at least one address") }
        let addresses = try addressFields.map { f throws(ObjectError) -> String in
            let text = try f.requiredString()
            switch addressType {
            case "IPv4":
                // v4Bytes takes only the canonical form (no leading zeros): the text is the address.
                guard IPAddress.v4Bytes(text) != nil else { throw f.fail("'\(text)' is not an IPv4 address") }
                return text
            case "IPv6":
                guard let b = IPAddress.v6Bytes(text) else { throw f.fail("'\(text)' is not an IPv6 address") }
                return IPAddress.text(b)!
            default:
                guard Self.dnsName(text) != nil else { throw f.fail("'\(text)' is not a DNS name") }
                return text.asciiLowercased
            }
        }
        let hostname = try endpoint["hostname"].string().flatMap { $0.isEmpty ? nil : $0 }
        if let hostname, !Self.isLabel(hostname) { throw endpoint["hostname"].fail("'\(hostname)' is not a DNS label") }
        let ready = try endpoint["conditions"].mappingIfPresent()?["ready"].bool()
        let nodeName = try endpoint["nodeName"].string()
        return Endpoint(addresses: addresses, hostname: hostname, ready: ready, nodeName: nodeName.map(interner.intern))
    }

    /// v1 Node: its zone and region labels, current names first.
    func readNode<V>(_ object: Field<V>) throws(ObjectError) -> (Node, Field<V>) {
        let object = try object.identified(namespaced: false, nameIsLabel: false)
        let labels = object["metadata"]["labels"]
        func label(_ current: String, _ legacy: String) throws(ObjectError) -> String? {
            var value = try labels.label(current).string()
            if value == nil || value == "" { value = try labels.label(legacy).string() }
            return value.flatMap { $0.isEmpty ? nil : interner.intern($0) }
        }
        let zone = try label(Self.zoneLabel, Self.legacyZoneLabel)
        let region = try label(Self.regionLabel, Self.legacyRegionLabel)
        return (Node(name: interner.intern(object.object.name!), zone: zone, region: region), object)
    }

    static let serviceNameLabel = "kubernetes.io/service-name"
    /// Marks a Service as a shard of a federated service (`fedns publish`).
    static let federationLabel = "fedns.io/federation"
    static let zoneLabel = "topology.kubernetes.io/zone"
    static let legacyZoneLabel = "failure-domain.beta.kubernetes.io/zone"
    static let regionLabel = "topology.kubernetes.io/region"
    static let legacyRegionLabel = "failure-domain.beta.kubernetes.io/region"

    /// v1 Namespace: its name, lower-cased.
    func readNamespace<V>(_ object: Field<V>) throws(ObjectError) -> (String, Field<V>) {
        let object = try object.identified(namespaced: false, nameIsLabel: true)
        return (interner.intern(object.object.name!.asciiLowercased), object)
    }

    /// v1 Pod. `ownsIPs` is false for pods whose IP is not theirs: host-network pods share the node's
    /// address, and finished pods may have handed theirs to a new pod; such a pod is read without IPs.
    func readPod<V>(_ object: Field<V>) throws(ObjectError) -> (pod: Pod, field: Field<V>, ownsIPs: Bool) {
        let object = try object.identified(namespaced: true, nameIsLabel: false)
        let namespace = interner.intern(object.object.namespace!)
        let hostNetwork = try object["spec"].mappingIfPresent()?["hostNetwork"].bool() == true
        let status = object["status"]
        let phase = hostNetwork ? nil : try status["phase"].string()
        if hostNetwork || phase == "Succeeded" || phase == "Failed" {
            return (Pod(namespace: namespace, name: object.object.name!, ips: []), object, false)
        }
        var ips: [String] = []
        let list = try status["podIPs"].items()
        let fields = list.isEmpty ? [status["podIP"]] : list.map { $0["ip"] }
        for f in fields {
            guard let text = try f.string(), !text.isEmpty else { continue }
            guard let ip = IPAddress.canonical(text) else { throw f.fail("'\(text)' is not an IP address") }
            if !ips.contains(ip) { ips.append(ip) }
        }
        return (Pod(namespace: namespace, name: object.object.name!, ips: ips), object, true)
    }
}
