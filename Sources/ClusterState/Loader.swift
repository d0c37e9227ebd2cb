import NameExpansion
import YAMLReader

/// A Kubernetes object that could not be read: kind, namespace/name and the offending field.
///
/// `field` is a JSON-path-ish location inside the object (`spec.clusterIPs[1]`,
/// `endpoints[0].addresses[0]`); for a YAML syntax error `kind` is `YAML` and `field` is `line N`.
/// With the file and line: `cluster.yaml:14: Service mynamespace/nginx: spec.clusterIP: '10.0.0.x' is not an IP address`.
public struct ObjectError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file the object was read from, when the loader was given its name.
    public var file: String?
    public var kind: String
    public var namespace: String?
    public var name: String?
    public var field: String
    public var problem: String
    /// The line of the file the problem was found at, when known.
    public var line: Int?
    public init(kind: String, namespace: String?, name: String?, field: String, problem: String, line: Int? = nil, file: String? = nil) {
        self.kind = kind; self.namespace = namespace; self.name = name; self.field = field; self.problem = problem
        self.line = line; self.file = file
    }
    public var description: String {
        let id = [namespace, name].compactMap { $0 }.joined(separator: "/")
        let place = ConfigError(field: "", problem: "", file: file, line: line).place
        return "\(place)\(kind) \(id.isEmpty ? "<unnamed>" : id): \(field): \(problem)"
    }
}

/// What a load produced: the objects, and notes about what was skipped (e.g. kinds DNS does not use).
public struct LoadResult: Sendable, Equatable {
    public var objects: ClusterObjects
    /// Human-readable notes, one per ignored kind (`ignored 2 Deployment (apps/v1)`).
    public var warnings: [String]
    public init(objects: ClusterObjects, warnings: [String] = []) {
        self.objects = objects; self.warnings = warnings
    }
}

/// Reads standard Kubernetes objects (multi-document YAML, JSON, or `kind: List`).
///
/// Reads exactly what `kubectl get svc,endpointslices,nodes,namespaces,pods -A -o yaml` prints: v1
/// Service, discovery.k8s.io/v1 EndpointSlice, v1 Node, v1 Namespace and v1 Pod, either as documents
/// of their own or as `items` of a `List` (typed lists such as `ServiceList` may omit the items'
/// `kind`). Other kinds are skipped with a warning. The first malformed object stops the load with an
/// ``ObjectError`` naming its kind, namespace/name and field.
public enum ObjectLoader {
    /// The objects in `text`; warnings are dropped. `file` names the file in errors.
    public static func load(yaml text: String, file: String? = nil) throws(ObjectError) -> ClusterObjects {
        try read(yaml: text, file: file).objects
    }

    /// The objects in `text`, with warnings about skipped objects.
    public static func read(yaml text: String, file: String? = nil) throws(ObjectError) -> LoadResult {
        var reader = ObjectReader()
        let documents: [YAMLField]
        do { documents = try YAMLField.documents(text, file: file) } catch {
            throw ObjectError(kind: "YAML", namespace: nil, name: nil, field: error.line.map { "line \($0)" } ?? "-",
                              problem: error.problem, line: error.line, file: file)
        }
        for document in documents {
            try reader.readDocument(document)
        }
        return LoadResult(objects: reader.objects, warnings: reader.warnings)
    }
}

/// Accumulates objects across documents and checks for duplicates.
private struct ObjectReader {
    var objects = ClusterObjects()
    var ignored: [String: Int] = [:]
    var ignoredOrder: [String] = []
    var seen = Set<String>()

    var warnings: [String] {
        ignoredOrder.map { "ignored \(ignored[$0]!) \($0)" }
    }

    mutating func readDocument(_ document: YAMLField) throws(ObjectError) {
        let root = Field(yaml: document, object: ObjectID(kind: "Object"))
        if root.isAbsent { return }  // an empty document (`---` with nothing after it)
        try readObject(root, listKind: nil, listAPIVersion: nil)
    }

    mutating func readObject(_ object: Field, listKind: String?, listAPIVersion: String?) throws(ObjectError) {
        guard object.isMapping else { throw object.fail("expected a Kubernetes object (a mapping)") }
        // Items of a typed list (`ServiceList` from the API) may leave out kind and apiVersion.
        guard let kind = try object["kind"].string() ?? listKind else { throw object["kind"].fail("missing") }
        let apiVersion = try object["apiVersion"].string() ?? listAPIVersion
        if kind.hasSuffix("List"), !object["items"].isAbsent {
            let itemKind = kind == "List" ? nil : String(kind.dropLast(4))
            let itemAPIVersion = kind == "List" ? nil : apiVersion
            for item in try object["items"].items() {
                try readObject(item.within(ObjectID(kind: itemKind ?? "Object")), listKind: itemKind, listAPIVersion: itemAPIVersion)
            }
            return
        }
        let scoped = object.within(ObjectID(kind: kind))
        switch (kind, apiVersion ?? Self.defaultVersion[kind] ?? "") {
        case ("Service", "v1"): try add(readService(scoped))
        case ("EndpointSlice", "discovery.k8s.io/v1"), ("EndpointSlice", "discovery.k8s.io/v1beta1"):
            try add(readEndpointSlice(scoped))
        case ("Node", "v1"): try add(readNode(scoped))
        case ("Namespace", "v1"): try add(readNamespace(scoped))
        case ("Pod", "v1"): if let pod = try readPod(scoped) { try add(pod) }
        default:
            let label = apiVersion.map { "\(kind) (\($0))" } ?? kind
            if ignored[label] == nil { ignoredOrder.append(label) }
            ignored[label, default: 0] += 1
        }
    }

    /// The apiVersion a hand-written object without one is read as.
    static let defaultVersion = ["Service": "v1", "EndpointSlice": "discovery.k8s.io/v1", "Node": "v1", "Namespace": "v1", "Pod": "v1"]

    private mutating func unique(_ field: Field, _ key: String) throws(ObjectError) {
        guard seen.insert(field.object.kind + " " + key).inserted else {
            throw field["metadata"]["name"].fail("duplicate \(field.object.kind) \(key)")
        }
    }

    mutating func add(_ read: (Service, Field)) throws(ObjectError) {
        try unique(read.1, read.0.key.description)
        objects.services.append(read.0)
    }
    mutating func add(_ read: (EndpointSlice, Field)) throws(ObjectError) {
        try unique(read.1, "\(read.0.service.namespace)/\(read.0.name)")
        objects.endpointSlices.append(read.0)
    }
    mutating func add(_ read: (Node, Field)) throws(ObjectError) {
        try unique(read.1, read.0.name)
        objects.nodes.append(read.0)
    }
    mutating func add(_ read: (String, Field)) throws(ObjectError) {
        try unique(read.1, read.0)
        objects.namespaces.append(read.0)
    }
    mutating func add(_ read: (Pod, Field)) throws(ObjectError) {
        try unique(read.1, "\(read.0.namespace)/\(read.0.name)")
        objects.pods.append(read.0)
    }

    // MARK: - Kinds

    /// v1 Service.
    func readService(_ object: Field) throws(ObjectError) -> (Service, Field) {
        let object = try object.identified(namespaced: true, nameIsLabel: true)
        let key = ServiceKey(namespace: object.object.namespace!, name: object.object.name!)
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
        return (Service(key: key, kind: kind, ports: ports, publishNotReadyAddresses: publishNotReady), object)
    }

    /// `spec.clusterIP` / `spec.clusterIPs` / `spec.ipFamilies` of a non-ExternalName Service.
    func readClusterIPs(_ spec: Field) throws(ObjectError) -> Service.Kind {
        let single = try spec["clusterIP"].string().flatMap { $0.isEmpty ? nil : $0 }
        let list = try spec["clusterIPs"].items()
        let texts = try list.map { f throws(ObjectError) in try f.requiredString() }
        if single == "None" || texts.first == "None" {
            if texts.count > 1 { throw list[1].fail("a headless Service has only 'None'") }
            if let single, single != "None" { throw spec["clusterIPs"].at(0).fail("'None' but spec.clusterIP is '\(single)'") }
            return .headless
        }
        var ips: [String] = []
        var fields: [Field] = []
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
    func readExternalName(_ field: Field) throws(ObjectError) -> DomainName {
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
        let bytes = Array(label.utf8)
        guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-")
        }
    }

    /// A port of a Service (`port` required) or of an EndpointSlice (`port` may be absent: then nil).
    func readPort(_ port: Field, requireNumber: Bool) throws(ObjectError) -> PortSpec? {
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
        return PortSpec(name: name, proto: proto, port: number)
    }

    /// discovery.k8s.io/v1 EndpointSlice.
    func readEndpointSlice(_ object: Field) throws(ObjectError) -> (EndpointSlice, Field) {
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
        let slice = EndpointSlice(name: object.object.name!, service: ServiceKey(namespace: object.object.namespace!, name: service),
                                  addressType: addressType, endpoints: endpoints, ports: ports)
        return (slice, object)
    }

    func readEndpoint(_ endpoint: Field, addressType: String) throws(ObjectError) -> Endpoint {
        _ = try endpoint.mapping()
        let addressFields = try endpoint["addresses"].items()
        guard !addressFields.isEmpty else { throw endpoint["addresses"].fail("an endpoint needs at least one address") }
        let addresses = try addressFields.map { f throws(ObjectError) -> String in
            let text = try f.requiredString()
            switch addressType {
            case "IPv4":
                guard let b = IPAddress.v4Bytes(text) else { throw f.fail("'\(text)' is not an IPv4 address") }
                return IPAddress.text(b)!
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
        return Endpoint(addresses: addresses, hostname: hostname, ready: ready, nodeName: nodeName)
    }

    /// v1 Node: its zone and region labels, current names first.
    func readNode(_ object: Field) throws(ObjectError) -> (Node, Field) {
        let object = try object.identified(namespaced: false, nameIsLabel: false)
        let labels = object["metadata"]["labels"]
        func label(_ current: String, _ legacy: String) throws(ObjectError) -> String? {
            var value = try labels.label(current).string()
            if value == nil || value == "" { value = try labels.label(legacy).string() }
            return value.flatMap { $0.isEmpty ? nil : $0 }
        }
        let zone = try label("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
        let region = try label("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
        return (Node(name: object.object.name!, zone: zone, region: region), object)
    }

    /// v1 Namespace: its name, lower-cased.
    func readNamespace(_ object: Field) throws(ObjectError) -> (String, Field) {
        let object = try object.identified(namespaced: false, nameIsLabel: true)
        return (object.object.name!.asciiLowercased, object)
    }

    /// v1 Pod, or nil for pods whose IP is not theirs: host-network pods share the node's address,
    /// and finished pods may have handed theirs to a new pod.
    func readPod(_ object: Field) throws(ObjectError) -> (Pod, Field)? {
        let object = try object.identified(namespaced: true, nameIsLabel: false)
        if try object["spec"].mappingIfPresent()?["hostNetwork"].bool() == true { return nil }
        let status = object["status"]
        if let phase = try status["phase"].string(), phase == "Succeeded" || phase == "Failed" { return nil }
        var ips: [String] = []
        let list = try status["podIPs"].items()
        let fields = list.isEmpty ? [status["podIP"]] : list.map { $0["ip"] }
        for f in fields {
            guard let text = try f.string(), !text.isEmpty else { continue }
            guard let ip = IPAddress.canonical(text) else { throw f.fail("'\(text)' is not an IP address") }
            if !ips.contains(ip) { ips.append(ip) }
        }
        return (Pod(namespace: object.object.namespace!, name: object.object.name!, ips: ips), object)
    }
}

/// Which object a field belongs to, for error messages.
private struct ObjectID {
    var kind: String
    var namespace: String?
    var name: String?
}

/// A position in an object: the shared reader's field (node, path, file, line) and the object it
/// belongs to, so an error names kind, namespace/name, key, file and line. Scalars are read as the
/// API reads them: a quoted number or boolean is an error.
private struct Field {
    let yaml: YAMLField
    var object: ObjectID

    var isAbsent: Bool { yaml.isAbsent }
    var isMapping: Bool { yaml.isMapping }

    func fail(_ problem: String) -> ObjectError {
        ObjectError(kind: object.kind, namespace: object.namespace, name: object.name,
                    field: yaml.path.isEmpty ? "(object)" : yaml.path, problem: problem, line: yaml.line, file: yaml.file)
    }

    private func fail(_ error: ConfigError) -> ObjectError { fail(error.problem) }

    func within(_ id: ObjectID) -> Field { Field(yaml: yaml.renamed(""), object: id) }

    /// `path.key`
    subscript(key: String) -> Field { Field(yaml: yaml[key], object: object) }

    /// `path["key"]`, for keys with dots such as labels.
    func label(_ key: String) -> Field { Field(yaml: yaml.label(key), object: object) }

    /// `path[i]` (a field that need not exist, for messages).
    func at(_ index: Int) -> Field { Field(yaml: yaml.at(index), object: object) }

    /// The elements of a list; none when absent or null.
    func items() throws(ObjectError) -> [Field] {
        do { return try yaml.items().map { Field(yaml: $0, object: object) } } catch { throw fail("expected a list") }
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
        do { return try yaml.string() } catch { throw fail("expected a string") }
    }

    func requiredString() throws(ObjectError) -> String {
        guard let s = try string() else { throw fail("missing") }
        return s
    }

    /// A YAML/JSON boolean (`true`/`false`); a quoted string is an error, as in the API.
    func bool() throws(ObjectError) -> Bool? {
        do { return try yaml.bool() } catch { throw fail("expected true or false") }
    }

    /// A decimal integer within `range`; a quoted number is an error, as in the API.
    func int(in range: ClosedRange<Int>) throws(ObjectError) -> Int? {
        do { return try yaml.int(in: range) } catch { throw fail(error) }
    }
    /// Reads `metadata.name` and `metadata.namespace` (default `default`) into the object's identity.
    func identified(namespaced: Bool, nameIsLabel: Bool) throws(ObjectError) -> Field {
        let metadata = try self["metadata"].mapping()
        var id = object
        if namespaced {
            let ns = try metadata["namespace"].string().flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            id.namespace = ns
        }
        var scoped = self
        scoped.object = id
        guard let name = try metadata["name"].string(), !name.isEmpty else { throw scoped["metadata"]["name"].fail("missing") }
        scoped.object.name = name
        if let ns = scoped.object.namespace, !ObjectReader.isLabel(ns) {
            throw scoped["metadata"]["namespace"].fail("'\(ns)' is not a DNS label")
        }
        if nameIsLabel, !ObjectReader.isLabel(name) {
            throw scoped["metadata"]["name"].fail("'\(name)' is not a DNS label")
        }
        return scoped
    }
}
