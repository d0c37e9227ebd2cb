@testable import ClusterState
import Foundation
import Testing

/// A relist after the first sync applied page by page (``SnapshotStore/upsert(_:)``, then
/// ``SnapshotStore/remove(_:except:)``): the result is what replacing the kind whole gives, and a
/// page of unchanged objects installs nothing.
@Suite struct RelistPageTests {
    typealias T = IncrementalSnapshotTests

    @Test("pages of a relist then the removal of what they lacked give what a whole replace gives")
    func pagesMatchAWholeReplace() throws {
        let relisted: [ClusterObject] = [
            T.service("a", ["10.96.0.1"]), T.service("b", ["10.96.0.9"]), T.service("c", ["10.96.0.3"]),
        ]
        let whole = SnapshotStore(nodeName: "node-a")
        whole.install(T.objects(T.base))
        let expected = try #require(whole.replace(.service, with: relisted))

        let paged = SnapshotStore(nodeName: "node-a")
        let first = paged.install(T.objects(T.base))
        #expect(paged.upsert([relisted[0]]) === first, "an unchanged page installs nothing")
        let second = try #require(paged.upsert([relisted[1], relisted[2]]))
        #expect(second.generation == 2)
        #expect(second.changes == .keys([.service(T.key("b")), .service(T.key("c")), .address("10.96.0.2"), .address("10.96.0.9"),
                                         .address("10.96.0.3")]))
        let seen = Set(relisted.map(\.id))
        let last = try #require(paged.remove(.service, except: seen))
        #expect(last.generation == 3)
        #expect(last.service("h", namespace: "ns") == nil)
        #expect(T.view(last) == T.view(expected))
        #expect(paged.remove(.service, except: seen) === last, "nothing left to remove installs nothing")
    }

    @Test("a relist page with a changed non-own Node is installed (it changes no answer, but the topology)")
    func nodeOnlyChangeIsInstalled() throws {
        let store = SnapshotStore(nodeName: "node-a")
        let first = store.install(T.objects(T.base))
        let after = try #require(store.upsert([.node(Node(name: "node-b", zone: "z1", region: "r1"))]))
        #expect(after !== first)
        #expect(after.sharedTopology.zone == "z1")
    }
}
