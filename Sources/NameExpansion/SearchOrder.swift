/// Which C library's stub resolver expands a name.
///
/// The two differ (glibc 2.36 `resolv/res_query.c` `__res_context_search`; musl 1.2
/// `src/network/lookup_name.c` `name_from_dns_search`, search support since musl 1.1.13):
///
/// | name typed            | glibc                                   | musl                       |
/// | --------------------- | --------------------------------------- | -------------------------- |
/// | ends in a dot         | as-is only                              | as-is only                 |
/// | dots >= ndots         | as-is, then every search domain         | as-is only                 |
/// | dots < ndots          | every search domain, then as-is         | every search domain, then as-is |
///
/// Further glibc details: a root (`.`) search domain stands for the as-is name, which is then not
/// tried again at the end; `options no-tld-query` drops the final as-is attempt of a single-label
/// name; a candidate that cannot be encoded (over 255 octets) ends the search walk. musl skips a
/// candidate it cannot encode (a root search domain gives `name..`) and goes on. When each
/// candidate is asked, glibc moves on after NXDOMAIN, NODATA or SERVFAIL, musl only after NXDOMAIN
/// (NODATA or a failure ends its lookup) — so with NODATA answers musl may ask fewer names than
/// ``candidates(for:conf:flavor:)`` lists.
public enum StubFlavor: String, Sendable, CaseIterable {
    case glibc, musl
}

/// The fully qualified names a stub resolver queries for `name`, in order, when none of them
/// resolves (the stub stops at the first that does). Empty when `name` is not a valid domain name.
///
/// `name` is what an application passes to `getaddrinfo`; dots are counted in the text as typed
/// (escaped dots too, as both C libraries do), and a trailing dot makes it absolute.
public func candidates(for name: String, conf: ResolvConf, flavor: StubFlavor) -> [DomainName] {
    guard !name.isEmpty, let asIs = try? DomainName(name), !asIs.isRoot else { return [] }
    let dots = name.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }
    let trailingDot = name.utf8.last == UInt8(ascii: ".")
    switch flavor {
    case .glibc: return glibcCandidates(asIs, dots: dots, trailingDot: trailingDot, conf: conf)
    case .musl: return muslCandidates(asIs, dots: dots, trailingDot: trailingDot, conf: conf)
    }
}

/// glibc `__res_context_search`: RES_DEFNAMES and RES_DNSRCH are always on (resolv.conf cannot
/// clear them), so the search list is walked for every name without a trailing dot.
private func glibcCandidates(_ asIs: DomainName, dots: Int, trailingDot: Bool, conf: ResolvConf) -> [DomainName] {
    var out: [DomainName] = []
    var triedAsIs = false, rootOnList = false, searched = false
    if dots >= conf.options.ndots || trailingDot {
        out.append(asIs)
        if trailingDot { return out }
        triedAsIs = true
    }
    for domain in conf.search {
        searched = true
        if domain.isRoot { rootOnList = true }
        // res_nmkquery fails on a name over 255 octets: NO_RECOVERY ends the walk.
        guard let candidate = joined(asIs, domain) else { break }
        out.append(candidate)
    }
    if (dots > 0 || !searched || !conf.options.noTLDQuery) && !(triedAsIs || rootOnList) {
        out.append(asIs)
    }
    return out
}

/// musl `name_from_dns_search`: search only below ndots, never after the as-is name.
private func muslCandidates(_ asIs: DomainName, dots: Int, trailingDot: Bool, conf: ResolvConf) -> [DomainName] {
    guard dots < conf.options.ndots, !trailingDot else { return [asIs] }
    // `name` + "." + "." does not encode; musl skips it like any other name that does not.
    let searched = conf.search.filter { !$0.isRoot }.compactMap { joined(asIs, $0) }
    return searched + [asIs]
}

/// `name.suffix`, or nil when it would exceed 255 octets in wire form.
private func joined(_ name: DomainName, _ suffix: DomainName) -> DomainName? {
    let candidate = name.appending(suffix)
    return candidate.wireLength <= 255 ? candidate : nil
}

/// The server-side search path (docs/behaviour.md) for a pod in `clientNamespace`, whose search list is
/// `<ns>.svc.<cd> svc.<cd> <cd> <hostSearch…>`.
///
/// A pod sends `<typed>.<ns>.svc.<cd>` first (when `<typed>` has fewer than ndots dots); only that
/// first element triggers the walk, as in CoreDNS autopath. Returns the name the pod typed and the
/// names the pod would try next, in its order: `<typed>.svc.<cd>`, `<typed>.<cd>`,
/// `<typed>.<host search…>`, then `<typed>` as-is. Nil when `qname` does not end in
/// `<ns>.svc.<cd>` or is that name itself.
///
/// ```text
/// nginx.mynamespace.myfederation.default.svc.cluster.local
///   typed:      nginx.mynamespace.myfederation
///   candidates: nginx.mynamespace.myfederation.svc.cluster.local
///               nginx.mynamespace.myfederation.cluster.local
///               nginx.mynamespace.myfederation.<host search…>
///               nginx.mynamespace.myfederation
/// ```
public func searchCandidates(forQuery qname: DomainName, clientNamespace: String, clusterDomain: DomainName,
                             hostSearch: [DomainName]) -> (original: DomainName, candidates: [DomainName])? {
    let list = ResolvConf.kubernetesSearchList(namespace: clientNamespace, clusterDomain: clusterDomain, hostSearch: hostSearch)
    return searchCandidates(forQuery: qname, searchList: list)
}

/// The server-side search path for any client search list: when `qname` is `<typed>.<first
/// element>`, the typed name and the rest of the list applied to it, then `<typed>` as-is (at the
/// position of a root element if the list has one, else last). Names over 255 octets are left out.
/// Nil when the list is empty or `qname` does not lie strictly below its first element.
public func searchCandidates(forQuery qname: DomainName, searchList: [DomainName]) -> (original: DomainName, candidates: [DomainName])? {
    guard let first = searchList.first, let typed = qname.labels(before: first), !typed.isEmpty else { return nil }
    let original = DomainName(labels: typed)
    var seen: Set<DomainName> = [qname]
    var out: [DomainName] = []
    for domain in searchList.dropFirst() {
        if let candidate = joined(original, domain), seen.insert(candidate).inserted { out.append(candidate) }
    }
    if seen.insert(original).inserted { out.append(original) }
    return (original, out)
}
