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
/// Reads exactly what `kubectl get svc,endpointslices,nodes,namespaces,pods -A -o yaml` (or `-o json`)
/// prints: v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Node, v1 Namespace and v1 Pod, either as
/// documents of their own or as `items` of a `List` (typed lists such as `ServiceList` may omit the
/// items' `kind`). Other kinds are skipped with a warning. The first malformed object stops the load
/// with an ``ObjectError`` naming its kind, namespace/name and field. YAML goes through Yams; JSON
/// (``read(bytes:file:interner:)``) through the streaming decoder, which keeps only the fields DNS reads.
public enum ObjectLoader {
    /// The objects in `text`; warnings are dropped. `file` names the file in errors.
    public static func load(yaml text: String, file: String? = nil) throws(ObjectError) -> ClusterObjects {
        try read(yaml: text, file: file).objects
    }

    /// The objects in `text`, with warnings about skipped objects.
    public static func read(yaml text: String, file: String? = nil, interner: Interner = Interner()) throws(ObjectError) -> LoadResult {
        var reader = ObjectReader(rules: ObjectRules(interner: interner))
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

    /// The objects in a file's bytes: JSON (the first thing in the file is `{` and then a key or `}`)
    /// through the streaming decoder, anything else as YAML.
    public static func read(bytes: [UInt8], file: String? = nil, interner: Interner = Interner()) throws(ObjectError) -> LoadResult {
        if JSONObjectFile.looksLikeJSON(bytes) {
            return try bytes.withBytes { buffer throws(ObjectError) in try read(json: buffer, file: file, interner: interner) }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ObjectError(kind: "YAML", namespace: nil, name: nil, field: "-", problem: "the file is not UTF-8", file: file)
        }
        return try read(yaml: text, file: file, interner: interner)
    }

    /// The objects in one JSON document (a `List`, a typed list or a single object), read by the
    /// streaming decoder: no document tree, only the fields DNS reads are kept.
    public static func read(json bytes: UnsafeRawBufferPointer, file: String? = nil, interner: Interner = Interner()) throws(ObjectError) -> LoadResult {
        var reader = ObjectReader(rules: ObjectRules(interner: interner))
        try JSONObjectFile.read(bytes, file: file) { (item: Field<JSONField>, listKind: String?, listAPIVersion: String?) throws(ObjectError) in
            try reader.readObject(item, listKind: listKind, listAPIVersion: listAPIVersion)
        }
        return LoadResult(objects: reader.objects, warnings: reader.warnings)
    }
}

/// Accumulates objects across documents and checks for duplicates.
struct ObjectReader {
    /// What reading one object produced.
    enum Outcome: Equatable {
        case object(ObjectRef)
        /// A kind DNS does not use, by its label (`Deployment (apps/v1)`).
        case ignored(String)
        /// A Pod without IPs of its own (host network, not yet scheduled).
        case skipped
    }

    let rules: ObjectRules
    var objects = ClusterObjects()
    var ignored: [String: Int] = [:]
    var ignoredOrder: [String] = []
    var seen = Set<ObjectRef>()
    /// The outcome of each object read since the caller last emptied it (a list item may hold a list).
    var produced: [Outcome] = []

    init(rules: ObjectRules) { self.rules = rules }

    var warnings: [String] {
        ignoredOrder.map { "ignored \(ignored[$0]!) \($0)" }
    }

    mutating func readDocument(_ document: YAMLField) throws(ObjectError) {
        let root = Field(value: document, object: ObjectID(kind: "Object"))
        if root.isAbsent { return }  // an empty document (`---` with nothing after it)
        try readObject(root, listKind: nil, listAPIVersion: nil)
    }

    mutating func readObject<V>(_ object: Field<V>, listKind: String?, listAPIVersion: String?) throws(ObjectError) {
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
        case ("Service", "v1"): try add(rules.readService(scoped))
        case ("EndpointSlice", "discovery.k8s.io/v1"), ("EndpointSlice", "discovery.k8s.io/v1beta1"):
            try add(rules.readEndpointSlice(scoped))
        case ("Node", "v1"): try add(rules.readNode(scoped))
        case ("Namespace", "v1"): try add(rules.readNamespace(scoped))
        case ("Pod", "v1"):
            let read = try rules.readPod(scoped)
            if read.ownsIPs { try add((read.pod, read.field)) } else { produced.append(.skipped) }
        default:
            let label = apiVersion.map { "\(kind) (\($0))" } ?? kind
            ignore(label)
            produced.append(.ignored(label))
        }
    }

    /// The apiVersion a hand-written object without one is read as.
    static let defaultVersion = ["Service": "v1", "EndpointSlice": "discovery.k8s.io/v1", "Node": "v1", "Namespace": "v1", "Pod": "v1"]

    private mutating func ignore(_ label: String) {
        if ignored[label] == nil { ignoredOrder.append(label) }
        ignored[label, default: 0] += 1
    }

    /// Counts what an unchanged item produced when it was last read, without reading it again; false
    /// when its object is already in (a duplicate, which only reading the item can report).
    mutating func reuse(_ outcome: Outcome) -> Bool {
        switch outcome {
        case .object(let ref): return seen.insert(ref).inserted
        case .ignored(let label): ignore(label)
        case .skipped: break
        }
        return true
    }

    private mutating func unique<V>(_ field: Field<V>, _ ref: ObjectRef) throws(ObjectError) {
        guard seen.insert(ref).inserted else {
            let key = ref.namespace.isEmpty ? ref.name : "\(ref.namespace)/\(ref.name)"
            throw field["metadata"]["name"].fail("duplicate \(field.object.kind) \(key)")
        }
        produced.append(.object(ref))
    }

    mutating func add<V>(_ read: (Service, Field<V>)) throws(ObjectError) {
        try unique(read.1, ClusterObject.service(read.0).id)
        objects.services.append(read.0)
    }
    mutating func add<V>(_ read: (EndpointSlice, Field<V>)) throws(ObjectError) {
        try unique(read.1, read.0.ref)
        objects.endpointSlices.append(read.0)
    }
    mutating func add<V>(_ read: (Node, Field<V>)) throws(ObjectError) {
        try unique(read.1, ObjectRef(kind: .node, namespace: "", name: read.0.name))
        objects.nodes.append(read.0)
    }
    mutating func add<V>(_ read: (String, Field<V>)) throws(ObjectError) {
        try unique(read.1, ObjectRef(kind: .namespace, namespace: "", name: read.0))
        objects.namespaces.append(read.0)
    }
    mutating func add<V>(_ read: (Pod, Field<V>)) throws(ObjectError) {
        try unique(read.1, read.0.ref)
        objects.pods.append(read.0)
    }
}
