import Conformance
import Testing

/// Every name fedns hands out resolves, for the cluster of every shipped scenario (and every state
/// its cluster changes lead to): PTR targets resolve forward to the same address, endpoint names have
/// their PTR, and healthy federated names answer what their local names answer.
@Suite struct NameConsistencyTests {
    /// Many scenarios share one cluster and config: each distinct pair is checked once.
    @Test func everyNameResolvesInEveryScenarioCluster() async throws {
        var files: [String: [String]] = [:]   // (config, cluster state) → the scenario files that have it
        var order: [String] = []
        for file in SuiteTests.files {
            let scenario = try ScenarioParser.parse(file: file)
            guard var objects = scenario.cluster, !objects.isEmpty else { continue }
            var states = [objects]
            for step in scenario.steps {
                if case .clusterChange(let change) = step.action, case .success(let next) = change.applied(to: objects) {
                    objects = next
                    states.append(objects)
                }
            }
            for state in states {
                let key = scenario.configYAML + "\n---\n" + ScenarioRunner.stateFile(state)
                if files[key] == nil { order.append(key) }
                files[key, default: []].append(file)
            }
        }
        #expect(files.values.reduce(0) { $0 + $1.count } >= 40, "scenarios with a cluster to check")
        for key in order {
            let parts = key.components(separatedBy: "\n---\n")
            let config = parts[0], cluster = parts.dropFirst().joined(separator: "\n---\n")
            let problems = try await NameConsistency.violations(clusterYAML: cluster, configYAML: config)
            #expect(problems.isEmpty, "\(files[key]!.joined(separator: ", ")):\n\(problems.joined(separator: "\n"))")
        }
    }

    @Test func aClusterIPServiceEndpointIsCheckedBothWays() async throws {
        // The shape of the bug this property guards: a ClusterIP Service whose endpoint has a hostname.
        let cluster = """
            apiVersion: v1
            kind: Service
            metadata: {name: svc1, namespace: ns1}
            spec: {type: ClusterIP, clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1], ports: [{name: http, port: 80, protocol: TCP}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: svc1-1, namespace: ns1, labels: {kubernetes.io/service-name: svc1}}
            addressType: IPv4
            endpoints:
            - {addresses: [10.1.0.1], hostname: ep1a}
            - {addresses: [10.1.0.2]}
            """
        #expect(try await NameConsistency.violations(clusterYAML: cluster, configYAML: "federations: {fed1: example.com}") == [])
    }
}
