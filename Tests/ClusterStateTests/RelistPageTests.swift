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

/// Releasing the start-up pages of read-only file mappings: resident memory drops, and the code
/// still runs (its pages fault back from the page cache).
@Suite struct StartupPagesTests {
    /// Resident kB of mappings that are file-backed and not writable.
    static func readOnlyFileRSS() throws -> Int {
        var total = 0, inReadOnlyFile = false
        for line in try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first?.last != ":" {
                inReadOnlyFile = fields.count >= 6 && !fields[1].contains("w") && fields[5].hasPrefix("/")
            } else if inReadOnlyFile, fields.first == "Rss:" {
                total += Int(fields[1]) ?? 0
            }
        }
        return total
    }

    @Test func releasedPagesLeaveTheProcessWorking() throws {
        let before = try Self.readOnlyFileRSS()
        Memory.releaseStartupPages()
        let after = try Self.readOnlyFileRSS()
        #expect(after < before / 2, "\(before) kB → \(after) kB")
        let objects = try ObjectLoader.read(yaml: stateFile(ip: "10.0.0.7")).objects
        #expect(objects.services.count == 1)
    }
}
