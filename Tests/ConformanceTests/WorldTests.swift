import Conformance
import Foundation
import Testing

/// `world: PATH` includes a shared cluster from a file beside the scenarios.
struct WorldTests {
    /// A scenario directory with `worlds/basic.yaml` and `scenarios/`; removed by the caller.
    static func layout(world: String?) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-world-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("worlds"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scenarios"), withIntermediateDirectories: true)
        if let world { try world.write(to: dir.appendingPathComponent("worlds/basic.yaml"), atomically: true, encoding: .utf8) }
        return dir
    }

    static let world = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: mynamespace}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: nginx, namespace: mynamespace}
    spec: {type: ClusterIP, clusterIP: 10.96.10.10, clusterIPs: [10.96.10.10], ports: [{name: http, port: 80, protocol: TCP}]}
    """

    static func scenario(_ extra: String = "") -> String {
        """
        name: world include
        world: ../worlds/basic.yaml
        \(extra)steps:
          - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
            expect:
              answer: nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.10.10
          - query: {name: extra.mynamespace.svc.cluster.local., type: A}
            expect:
              rcode: any
        """
    }

    @Test func aWorldIsTheScenariosCluster() async throws {
        let dir = try Self.layout(world: Self.world)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("scenarios/a.yaml").path
        try Self.scenario().write(toFile: file, atomically: true, encoding: .utf8)
        let scenario = try ScenarioParser.parse(file: file)
        #expect(scenario.cluster?.map(\.key.description) == ["Namespace/mynamespace", "Service/mynamespace/nginx"])
        let result = await Suite(mode: .inProcess).run(scenario)
        #expect(result.status == .ok, "\(Suite.line(result)) \(result.messages)")
    }

    @Test func aScenarioAddsObjectsToItsWorld() async throws {
        let dir = try Self.layout(world: Self.world)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("scenarios/a.yaml").path
        try Self.scenario("""
        cluster:
          - {apiVersion: v1, kind: Service, metadata: {name: extra, namespace: mynamespace}, spec: {clusterIP: 10.96.10.11}}

        """).write(toFile: file, atomically: true, encoding: .utf8)
        let scenario = try ScenarioParser.parse(file: file)
        #expect(scenario.cluster?.count == 3)

        try Self.scenario("""
        cluster:
          - {apiVersion: v1, kind: Service, metadata: {name: nginx, namespace: mynamespace}, spec: {clusterIP: 10.96.10.11}}

        """).write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try ScenarioParser.parse(file: file) } throws: { "\($0)".contains("Service/mynamespace/nginx is already in the world") }
    }

    @Test func aMissingWorldIsAnErrorNamingTheScenarioLine() throws {
        let dir = try Self.layout(world: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("scenarios/a.yaml").path
        try Self.scenario().write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            try ScenarioParser.parse(file: file)
        } throws: { error in
            "\(error)".hasPrefix("\(file):2: world: cannot read the world file ") && "\(error)".contains("worlds/basic.yaml")
        }
    }

    @Test func aMalformedWorldIsAnErrorNamingTheWorldFileAndLine() throws {
        let bad = Self.world.replacingOccurrences(of: "metadata: {name: nginx, namespace: mynamespace}", with: "metadata: {namespace: mynamespace}")
        let dir = try Self.layout(world: bad)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("scenarios/a.yaml").path
        try Self.scenario().write(toFile: file, atomically: true, encoding: .utf8)
        let world = dir.appendingPathComponent("scenarios/../worlds/basic.yaml").path
        #expect {
            try ScenarioParser.parse(file: file)
        } throws: { error in
            "\(error)".hasPrefix("\(world):5: ") && "\(error)".contains("metadata.name is required")
        }

        try "kind: [\n".write(to: dir.appendingPathComponent("worlds/basic.yaml"), atomically: true, encoding: .utf8)
        #expect { try ScenarioParser.parse(file: file) } throws: { "\($0)".hasPrefix("\(world):2: (file): not valid YAML") }
    }
}
