/// The body is not JSON, not the expected shape, or was cut short.
public struct KubeDecodeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// When the body was a `Status` (the API's error answer, e.g. 410 Expired for a stale continue
    /// token): its code and reason.
    public var statusCode: Int?
    public var statusReason: String?

    public init(_ description: String, statusCode: Int? = nil, statusReason: String? = nil) {
        self.description = description; self.statusCode = statusCode; self.statusReason = statusReason
    }
}

/// One object read from the API or a file, or why it was skipped (kind/namespace/name/field/problem).
public enum DecodedItem: Sendable, Equatable {
    case object(ClusterObject, resourceVersion: String)
    case skipped(ObjectError)
}

/// What the decoders keep of a Kubernetes object: the fields the rules (``ObjectRules``) read for
/// any of the five kinds, and the `Status` fields of a watch ERROR. Everything else (managedFields,
/// annotations, ownerReferences, other labels, Node and Pod specs…) is skipped unread.
enum KubeSchema {
    static let port = KeepSchema(["name": .leaf, "protocol": .leaf, "port": .leaf])
    static let list = KeepSchema(element: .leaf)

    static let object = KeepSchema([
        "kind": .leaf,
        "apiVersion": .leaf,
        "metadata": KeepSchema([
            "name": .leaf, "namespace": .leaf, "resourceVersion": .leaf,
            "labels": KeepSchema([
                ObjectRules.serviceNameLabel: .leaf, ObjectRules.federationLabel: .leaf,
                ObjectRules.zoneLabel: .leaf, ObjectRules.legacyZoneLabel: .leaf,
                ObjectRules.regionLabel: .leaf, ObjectRules.legacyRegionLabel: .leaf,
            ]),
        ]),
        // Service (and a Pod's hostNetwork)
        "spec": KeepSchema([
            "type": .leaf, "clusterIP": .leaf, "clusterIPs": list, "ipFamilies": list,
            "ports": KeepSchema(element: port), "externalName": .leaf, "publishNotReadyAddresses": .leaf,
            "hostNetwork": .leaf,
        ]),
        // EndpointSlice
        "addressType": .leaf,
        "endpoints": KeepSchema(element: KeepSchema([
            "addresses": list, "hostname": .leaf, "nodeName": .leaf, "conditions": KeepSchema(["ready": .leaf]),
        ])),
        "ports": KeepSchema(element: port),
        // Pod; a Service's load-balancer addresses
        "status": KeepSchema([
            "phase": .leaf, "podIP": .leaf, "podIPs": KeepSchema(element: KeepSchema(["ip": .leaf])),
            "loadBalancer": KeepSchema(["ingress": KeepSchema(element: KeepSchema(["ip": .leaf, "hostname": .leaf]))]),
        ]),
        // Status (a watch ERROR's object, an error body)
        "code": .leaf, "reason": .leaf, "message": .leaf,
    ])

    /// A watch event: `{"type": "ADDED", "object": {…}}`.
    static let event = KeepSchema(["type": .leaf, "object": object])

    /// A list's `metadata`.
    static let listMetadata = KeepSchema(["resourceVersion": .leaf, "continue": .leaf])
}

/// Turns a kept object of one kind into its model object, through the shared rules.
struct KubeObjectDecoder {
    let kind: ObjectKind
    let rules: ObjectRules

    init(kind: ObjectKind, interner: Interner) {
        self.kind = kind; self.rules = ObjectRules(interner: interner)
    }

    var kindName: String { ObjectRules.kindNames[kind]! }

    /// The object and its `metadata.resourceVersion` ("" when absent). A Pod that does not own its IPs
    /// (host network, finished) comes without IPs, so that a change to it removes what it had.
    func decode(_ node: JSONNode) throws(ObjectError) -> (ClusterObject, resourceVersion: String) {
        let root = Field(value: JSONField(root: node, file: nil), object: ObjectID(kind: kindName))
        do throws(ObjectError) {
            guard root.isMapping else { throw root.fail("expected a Kubernetes object (a mapping)") }
            let object: ClusterObject
            switch kind {
            case .service: object = .service(try rules.readService(root).0)
            case .endpointSlice: object = .endpointSlice(try rules.readEndpointSlice(root).0)
            case .namespace: object = .namespace(try rules.readNamespace(root).0)
            case .node: object = .node(try rules.readNode(root).0)
            case .pod: object = .pod(try rules.readPod(root).pod)
            }
            return (object, Self.resourceVersion(node))
        } catch {
            var error = error
            error.line = nil  // an API body is one line; the field names the place
            throw error
        }
    }

    static func resourceVersion(_ node: JSONNode) -> String {
        node.member("metadata")?.member("resourceVersion")?.text ?? ""
    }

    /// The identity an object's metadata gives (for a deletion or an error), in the form
    /// ``ClusterObject/id`` has: namespaces default to `default` and are lower-cased, as are the names
    /// of Services and Namespaces. Nil without a name.
    func ref(_ node: JSONNode) -> ObjectRef? {
        let metadata = node.member("metadata")
        guard let name = metadata?.member("name")?.text, !name.isEmpty else { return nil }
        var namespace = metadata?.member("namespace")?.text ?? ""
        if namespace.isEmpty { namespace = "default" }
        switch kind {
        case .service: return ObjectRef(kind: kind, namespace: namespace.asciiLowercased, name: name.asciiLowercased)
        case .endpointSlice, .pod: return ObjectRef(kind: kind, namespace: namespace.asciiLowercased, name: name)
        case .namespace: return ObjectRef(kind: kind, namespace: "", name: name.asciiLowercased)
        case .node: return ObjectRef(kind: kind, namespace: "", name: name)
        }
    }

    /// An error about a whole object, naming what of its identity is known.
    func objectError(_ node: JSONNode?, field: String, problem: String) -> ObjectError {
        let metadata = node?.member("metadata")
        let name = metadata?.member("name")?.text
        var namespace: String?
        if kind == .service || kind == .endpointSlice || kind == .pod {
            namespace = metadata?.member("namespace")?.text ?? (name == nil ? nil : "default")
        }
        return ObjectError(kind: kindName, namespace: namespace, name: name, field: field, problem: problem)
    }

    /// Reads one complete value (an item, an event) kept by `schema`; nil with the error when it is not JSON.
    static func keep(_ bytes: UnsafeRawBufferPointer, _ schema: KeepSchema) -> Result<JSONNode, JSONSyntaxError> {
        var reader = JSONReader(bytes)
        do throws(JSONSyntaxError) {
            let node = try reader.keep(schema)
            guard reader.isAtEndOfText() else { throw reader.fail("text after the value") }
            return .success(node)
        } catch {
            return .failure(error)
        }
    }

    /// The name and namespace in the first bytes of an object too large to keep: its `metadata`
    /// when it comes complete before the cut.
    static func identity(inPrefix bytes: UnsafeRawBufferPointer) -> JSONNode? {
        var reader = JSONReader(bytes)
        guard (try? reader.peek()) == 0x7B else { return nil }
        reader.position += 1
        while true {
            guard (try? reader.peek()) == 0x22, let key = try? reader.scanString(), (try? reader.expect(0x3A)) != nil else { return nil }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[key.start..<key.end])
            if raw.elementsEqual("metadata".utf8) {
                guard let metadata = try? reader.keep(KubeSchema.object.member("metadata")!.schema) else { return nil }
                return JSONNode(value: .object([JSONMember(key: "metadata", node: metadata)]), line: 1)
            }
            if raw.elementsEqual("object".utf8) {
                // A watch event: the object's metadata.
                return identity(inPrefix: UnsafeRawBufferPointer(rebasing: bytes[reader.position...]))
            }
            guard (try? reader.skipValue(depth: 1)) != nil, (try? reader.peek()) == 0x2C else { return nil }
            reader.position += 1
        }
    }
}
