import Conformance
import Testing

/// Every name fedns hands out resolves, for the cluster of every shipped scenario (and every state
/// its cluster changes lead to): PTR targets resolve forward to the same address, endpoint names have
/// their PTR, and healthy federated names answer what their local names answer.
@Suite(.serialized) struct NameConsistencyTests {
    static let scenarios: [String] = SuiteTests.files.filter { file in
        guard let scenario = try? ScenarioParser.parse(file: file) else { return false }
        return scenario.cluster.map { !$0.isEmpty } ?? false
    }

    @Test func manyScenariosHaveAClusterToCheck() {
        #expect(Self.scenarios.count >= 40)
    }

    @Test(arguments: scenarios)
    func everyNameResolves(_ file: String) async throws {
        let scenario = try ScenarioParser.parse(file: file)
        var objects = scenario.cluster ?? []
        var states = [objects]
        for step in scenario.steps {
            if case .clusterChange(let change) = step.action, case .success(let next) = change.applied(to: objects) {
                objects = next
                states.append(objects)
            }
        }
        for (i, state) in states.enumerated() {
            let problems = try await NameConsistency.violations(clusterYAML: ScenarioRunner.stateFile(state), configYAML: scenario.configYAML)
            #expect(problems.isEmpty, "\(file), cluster state \(i):\n\(problems.joined(separator: "\n"))")
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
