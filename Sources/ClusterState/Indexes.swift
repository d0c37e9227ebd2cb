import NameExpansion

/// The indexes of one snapshot. A successor is this value changed in place for the objects an
/// event touches: unchanged shards stay shared with the predecessor, and the objects live only
/// here (no second copy of every object beside the snapshot).
struct ClusterIndexes: Sendable {
    var services = ShardedMap<ServiceKey, Service>()
    /// Slices by the Service their label names (which may not exist), in arrival order.
    var slicesByService = ShardedMap<ServiceKey, [EndpointSlice]>()
    /// Which Service each slice belongs to, for deletes (which name only the slice).
    var sliceOwners = ShardedMap<ObjectRef, ServiceKey>()
    var reverse = ReverseIndex()
    var namespaceObjects: Set<String> = []
    var servicesPerNamespace: [String: Int] = [:]
    /// Namespaces named by Namespace objects or by any Service.
    var namespaces: Set<String> = []
    var pods = ShardedMap<ObjectRef, Pod>()
    var podsByIP = ShardedMap<String, Pod>()
    var podsPerNamespace: [String: Int] = [:]
    var nodeNames: Set<String> = []
    /// Every Node read, for the topology the cluster's nodes share (`fedns publish`); `serve` reads only its own.
    var nodes: [String: Node] = [:]
    var node: Node?
    let nodeName: String?

    init(nodeName: String?) { self.nodeName = nodeName }

    /// Indexes `objects` in one pass (a first install): each Service's reverse entries are
    /// computed once, after all its slices are in.
    init(objects: ClusterObjects, nodeName: String?) {
        self.nodeName = nodeName
        var ignored = ChangeRecorder()
        for n in objects.namespaces { namespaceObjects.insert(n.asciiLowercased) }
        for s in objects.services {
            if services.updateValue(s, forKey: s.key) == nil { servicesPerNamespace[s.key.namespace, default: 0] += 1 }
        }
        namespaces = namespaceObjects.union(servicesPerNamespace.keys)
        for e in objects.endpointSlices {
            let ref = e.ref
            if let owner = sliceOwners[ref] { removeSlice(ref, from: owner) }
            sliceOwners[ref] = e.service
            slicesByService[e.service, default: []].append(e)
        }
        var links: [ReverseLink] = []
        for (key, service) in services {
            links += Self.reverseEntries(service, published: ClusterSnapshot.published(service, slices: slicesByService[key] ?? []))
        }
        reverse = ReverseIndex(links)
        for p in objects.pods { upsertPod(p, &ignored) }
        for n in objects.nodes { upsertNode(n, &ignored) }
    }

    // MARK: - Changes

    mutating func apply(_ change: ClusterChange, _ changed: inout ChangeRecorder) {
        switch change {
        case .upsert(.service(let s)): upsertService(s, &changed)
        case .upsert(.endpointSlice(let e)): upsertSlice(e, &changed)
        case .upsert(.namespace(let n)): setNamespaceObject(n.asciiLowercased, present: true, &changed)
        case .upsert(.node(let n)): upsertNode(n, &changed)
        case .upsert(.pod(let p)): upsertPod(p, &changed)
        case .delete(let ref):
            switch ref.kind {
            case .service: deleteService(ServiceKey(namespace: ref.namespace, name: ref.name), &changed)
            case .endpointSlice: deleteSlice(ref, &changed)
            case .namespace: setNamespaceObject(ref.name.asciiLowercased, present: false, &changed)
            case .node: deleteNode(ref.name, &changed)
            case .pod: deletePod(ref, &changed)
            }
        }
    }

    /// Makes the objects of `kind` exactly `objects`: what they lack is deleted, what differs is
    /// changed, what is equal is left alone (and its answers with it).
    mutating func replace(_ kind: ObjectKind, with objects: [ClusterObject], _ changed: inout ChangeRecorder) {
        let incoming = objects.filter { $0.id.kind == kind }
        remove(kind, except: Set(incoming.map(\.id)), &changed)
        for object in incoming { apply(.upsert(object), &changed) }
    }

    /// Deletes every object of `kind` that `keep` does not name.
    mutating func remove(_ kind: ObjectKind, except keep: Set<ObjectRef>, _ changed: inout ChangeRecorder) {
        for ref in refs(of: kind) where !keep.contains(ref) { apply(.delete(ref), &changed) }
    }

    /// Every object of `kind` held.
    func refs(of kind: ObjectKind) -> [ObjectRef] {
        switch kind {
        case .service: services.keys.map { ObjectRef(kind: .service, namespace: $0.namespace, name: $0.name) }
        case .endpointSlice: sliceOwners.keys
        case .namespace: namespaceObjects.map { ObjectRef(kind: .namespace, namespace: "", name: $0) }
        case .node: nodeNames.map { ObjectRef(kind: .node, namespace: "", name: $0) }
        case .pod: pods.keys
        }
    }

    /// Whether `object` is held exactly as it is (an upsert of it would change nothing).
    func holds(_ object: ClusterObject) -> Bool {
        switch object {
        case .service(let s): services[s.key] == s
        case .endpointSlice(let e): sliceOwners[e.ref] == e.service && slicesByService[e.service]?.first(where: { $0.name == e.name }) == e
        case .namespace(let n): namespaceObjects.contains(n.asciiLowercased)
        case .node(let n): nodes[n.name] == n
        case .pod(let p): pods[p.ref] == p
        }
    }

    mutating func upsertService(_ s: Service, _ changed: inout ChangeRecorder) {
        // Unchanged objects are not written: a write copies the shard it falls in.
        let old = services[s.key]
        guard old != s else { return }
        let before = reverseLinks(of: s.key)
        services[s.key] = s
        if old == nil { countService(in: s.key.namespace, by: 1, &changed) }
        changed.touchService(s.key)
        relink(s.key, before: before, &changed)
    }

    mutating func deleteService(_ key: ServiceKey, _ changed: inout ChangeRecorder) {
        let before = reverseLinks(of: key)
        guard services.removeValue(forKey: key) != nil else { return }
        countService(in: key.namespace, by: -1, &changed)
        changed.touchService(key)
        relink(key, before: before, &changed)
    }

    mutating func upsertSlice(_ e: EndpointSlice, _ changed: inout ChangeRecorder) {
        let ref = e.ref
        let owner = sliceOwners[ref]
        if owner == e.service, slicesByService[e.service]?.first(where: { $0.name == e.name }) == e { return }
        if owner != e.service { sliceOwners[ref] = e.service }
        if let owner, owner != e.service {
            // The slice's service label changed: it leaves the old Service.
            let before = reverseLinks(of: owner)
            removeSlice(ref, from: owner)
            changed.touchService(owner)
            relink(owner, before: before, &changed)
        }
        let before = reverseLinks(of: e.service)
        var slices = slicesByService.removeValue(forKey: e.service) ?? []
        if let i = slices.firstIndex(where: { $0.name == e.name }) {
            slices[i] = e
        } else {
            slices.append(e)
        }
        slicesByService[e.service] = slices
        changed.touchService(e.service)
        relink(e.service, before: before, &changed)
    }

    mutating func deleteSlice(_ ref: ObjectRef, _ changed: inout ChangeRecorder) {
        guard let owner = sliceOwners.removeValue(forKey: ref) else { return }
        let before = reverseLinks(of: owner)
        removeSlice(ref, from: owner)
        changed.touchService(owner)
        relink(owner, before: before, &changed)
    }

    private mutating func removeSlice(_ ref: ObjectRef, from owner: ServiceKey) {
        guard var slices = slicesByService.removeValue(forKey: owner) else { return }
        slices.removeAll { $0.name == ref.name }
        if !slices.isEmpty { slicesByService[owner] = slices }
    }

    /// The reverse entries one Service and its slices make now.
    private func reverseLinks(of key: ServiceKey) -> Set<ReverseLink> {
        guard let service = services[key] else { return [] }
        return Set(Self.reverseEntries(service, published: ClusterSnapshot.published(service, slices: slicesByService[key] ?? [])))
    }

    /// Brings the reverse entries of one Service up to date after it or one of its slices changed
    /// (`before`: its entries until then), touching every address whose reverse answer changes.
    /// Its published addresses are not kept: they are computed when asked, from its slices.
    private mutating func relink(_ key: ServiceKey, before: Set<ReverseLink>, _ changed: inout ChangeRecorder) {
        let after = reverseLinks(of: key)
        for link in before.subtracting(after) {
            reverse.remove(link.entry, at: link.key)
            changed.touch(.address(link.key.description))
        }
        for link in after.subtracting(before) {
            reverse.insert(link.entry, at: link.key)
            changed.touch(.address(link.key.description))
        }
    }

    /// One reverse-index entry: `address` names `entry`.
    struct ReverseLink: Hashable {
        var key: IPKey
        var entry: ReverseEntry
    }

    /// ClusterIPs name the Service; every published endpoint (of any Service type) names itself under it:
    /// the cluster zone answers `<label>.<svc>.<ns>.svc.<cd>` for the same addresses, so each PTR
    /// target resolves forward.
    static func reverseEntries(_ service: Service, published: [ReadyAddress]) -> [ReverseLink] {
        var out: [ReverseLink] = []
        if case .clusterIP(let ips) = service.kind {
            for ip in ips {
                if let key = IPKey(ip) { out.append(ReverseLink(key: key, entry: ReverseEntry(service: service.key, endpointHost: nil))) }
            }
        }
        for r in published {
            if let key = IPKey(r.address) {
                out.append(ReverseLink(key: key, entry: ReverseEntry(service: service.key, endpointHost: r.label)))
            }
        }
        return out
    }

    private mutating func countService(in namespace: String, by delta: Int, _ changed: inout ChangeRecorder) {
        let count = (servicesPerNamespace[namespace] ?? 0) + delta
        servicesPerNamespace[namespace] = count > 0 ? count : nil
        refreshNamespace(namespace, &changed)
    }

    private mutating func setNamespaceObject(_ namespace: String, present: Bool, _ changed: inout ChangeRecorder) {
        guard namespaceObjects.contains(namespace) != present else { return }
        if present { namespaceObjects.insert(namespace) } else { namespaceObjects.remove(namespace) }
        refreshNamespace(namespace, &changed)
    }

    /// A namespace appearing or disappearing changes NXDOMAIN into NODATA (and back) for names
    /// under it, and the federation's namespace-conflict reading: every answer may differ.
    private mutating func refreshNamespace(_ namespace: String, _ changed: inout ChangeRecorder) {
        let exists = namespaceObjects.contains(namespace) || servicesPerNamespace[namespace] != nil
        guard exists != namespaces.contains(namespace) else { return }
        if exists { namespaces.insert(namespace) } else { namespaces.remove(namespace) }
        changed.everything()
    }

    mutating func upsertNode(_ n: Node, _ changed: inout ChangeRecorder) {
        if !nodeNames.contains(n.name) { nodeNames.insert(n.name) }
        if nodes[n.name] != n { nodes[n.name] = n }
        guard n.name == nodeName, node != n else { return }
        node = n
        changed.everything()  // zone and region shape every federated CNAME
    }

    mutating func deleteNode(_ name: String, _ changed: inout ChangeRecorder) {
        nodeNames.remove(name)
        nodes.removeValue(forKey: name)
        guard name == nodeName, node != nil else { return }
        node = nil
        changed.everything()
    }

    mutating func upsertPod(_ p: Pod, _ changed: inout ChangeRecorder) {
        let old = pods[p.ref]
        guard old != p else { return }
        pods[p.ref] = p
        if let old { unindexAddresses(of: old, &changed) } else { countPod(in: p.namespace, by: 1, &changed) }
        for ip in p.ips {
            podsByIP[ip] = p
            changed.touch(.address(IPAddress.canonical(ip) ?? ip))
        }
    }

    mutating func deletePod(_ ref: ObjectRef, _ changed: inout ChangeRecorder) {
        guard let old = pods.removeValue(forKey: ref) else { return }
        unindexAddresses(of: old, &changed)
        countPod(in: old.namespace, by: -1, &changed)
    }

    private mutating func unindexAddresses(of pod: Pod, _ changed: inout ChangeRecorder) {
        for ip in pod.ips where podsByIP[ip]?.ref == pod.ref {
            podsByIP[ip] = nil
            changed.touch(.address(IPAddress.canonical(ip) ?? ip))
        }
    }

    /// Under `pods: verified` a namespace's first pod makes `<ns>.pod.<cd>` exist, its last one unmakes it.
    private mutating func countPod(in namespace: String, by delta: Int, _ changed: inout ChangeRecorder) {
        let count = (podsPerNamespace[namespace] ?? 0) + delta
        podsPerNamespace[namespace] = count > 0 ? count : nil
        if count <= 0 || count == delta { changed.everything() }
    }
}

extension EndpointSlice {
    var ref: ObjectRef { ObjectRef(kind: .endpointSlice, namespace: service.namespace, name: name) }
}

extension Pod {
    var ref: ObjectRef { ObjectRef(kind: .pod, namespace: namespace, name: name) }
}

extension ReverseEntry {
    /// ClusterIPs first, then endpoints; by Service, then label: the same order however the
    /// entries arrived.
    static func order(_ a: ReverseEntry, _ b: ReverseEntry) -> Bool {
        if (a.endpointHost == nil) != (b.endpointHost == nil) { return a.endpointHost == nil }
        if a.service.namespace != b.service.namespace { return a.service.namespace < b.service.namespace }
        if a.service.name != b.service.name { return a.service.name < b.service.name }
        return (a.endpointHost ?? "") < (b.endpointHost ?? "")
    }
}
