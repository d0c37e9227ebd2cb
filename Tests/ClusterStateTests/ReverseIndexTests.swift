@testable import ClusterState
import Testing

private let web = ServiceKey(namespace: "shop", name: "web")
private let db = ServiceKey(namespace: "shop", name: "db")

@Test func ipKeyKeepsFamiliesApartAndSpellsAddressesCanonically() throws {
    let v4 = try #require(IPKey("1.2.3.4"))
    let compatible = try #require(IPKey("::1.2.3.4"))
    #expect(v4 != compatible)
    #expect(v4.description == "1.2.3.4")
    #expect(compatible.description == "::102:304")
    #expect(IPKey("FD00:0:0:0:0:0:0:1")?.description == "fd00::1")
    #expect(IPKey("fd00::1") == IPKey("fd00:0::1"))
    #expect(IPKey("10.0.0.256") == nil)
    #expect(IPKey("nginx") == nil)
}

@Test func reverseIndexKeepsSeveralEntriesOfOneAddressInOrder() throws {
    let address = try #require(IPKey("10.96.0.7"))
    let endpoint = ReverseEntry(service: db, endpointHost: "db-0")
    let clusterIP = ReverseEntry(service: web, endpointHost: nil)
    var index = ReverseIndex()
    index.insert(endpoint, at: address)
    index.insert(clusterIP, at: address)
    index.insert(clusterIP, at: address)        // once only
    #expect(index["10.96.0.7"] == [clusterIP, endpoint])  // ClusterIPs first, whatever the arrival order
    #expect(index.count == 1)
    index.remove(clusterIP, at: address)
    #expect(index["10.96.0.7"] == [endpoint])
    #expect(index.count == 1)
    index.remove(endpoint, at: address)
    #expect(index["10.96.0.7"] == nil)
    #expect(index.isEmpty)
}

@Test func reverseIndexBuiltAtOnceEqualsOneBuiltByChanges() throws {
    // Sequential addresses over both families, some named twice: the order of arrival must not show.
    var links: [ClusterIndexes.ReverseLink] = []
    for i in 0..<600 {
        let key = try #require(IPKey(i % 2 == 0 ? "10.64.\(i / 256).\(i % 256)" : "fd00::\(String(i, radix: 16))"))
        links.append(.init(key: key, entry: ReverseEntry(service: web, endpointHost: "e\(i)")))
        if i % 7 == 0 { links.append(.init(key: key, entry: ReverseEntry(service: db, endpointHost: nil))) }
    }
    let built = ReverseIndex(links)
    var changed = ReverseIndex()
    for link in links.reversed() { changed.insert(link.entry, at: link.key) }
    func dump(_ index: ReverseIndex) -> [String] { index.map { "\($0.address) \($0.entries)" }.sorted() }
    #expect(built.count == 600)
    #expect(changed.count == 600)
    #expect(dump(built) == dump(changed))
    #expect(built["10.64.0.0"] == [ReverseEntry(service: db, endpointHost: nil), ReverseEntry(service: web, endpointHost: "e0")])
    #expect(Set(built.keys).count == 600)
}
