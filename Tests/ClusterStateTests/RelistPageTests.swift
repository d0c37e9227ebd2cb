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

/// Which mappings the start-up pages are released from: read-only file mappings of which no page
/// was copied (a relocated constant would revert to the file's bytes); never anything writable,
/// anonymous or special. (Calling it is left to the end-to-end tests: every `fedns serve` there
/// releases its pages after the first load; in the test process it would stall parallel tests.)
@Suite struct StartupPagesTests {
    static let smaps = """
        55650c0a1000-55650d1c5000 r-xp 00000000 fe:00 16225421                   /usr/bin/fedns
        Size:              17552 kB
        Rss:                5432 kB
        Anonymous:             0 kB
        55650d1c6000-55650d24a000 r--p 01124000 fe:00 16225421                   /usr/bin/fedns
        Size:                528 kB
        Anonymous:           528 kB
        55650d24a000-55650d36e000 rw-p 011a8000 fe:00 16225421                   /usr/bin/fedns
        Anonymous:          1040 kB
        7f6ec5400000-7f6ec59d3000 r--p 00000000 fe:00 2268                       /opt/swift/usr/lib/swift/linux/libswiftCore.so
        Anonymous:             0 kB
        7f6ebc000000-7f6ebdd4d000 rw-p 00000000 00:00 0 
        Anonymous:         27452 kB
        7ffd1a3f2000-7ffd1a3f4000 r-xp 00000000 00:00 0                          [vdso]
        Anonymous:             0 kB
        7f6ec3000000-7f6ec3001000 r--p 00000000 fe:00 9                          /tmp/state (deleted)
        """

    @Test func onlyReadOnlyUncopiedFileMappings() {
        let ranges = Memory.startupPageRanges(smaps: Array(Self.smaps.utf8))
        #expect(ranges == [0x55650c0a1000..<0x55650d1c5000, 0x7f6ec5400000..<0x7f6ec59d3000, 0x7f6ec3000000..<0x7f6ec3001000])
    }
}
