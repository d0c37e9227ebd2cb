import Conformance
import Testing

/// Every name fedns hands out resolves, for each cluster fixture of this target.
struct FixtureNamesResolveTests {
    @Test(arguments: [("kubectlList", kubectlList), ("multiDocument", multiDocument), ("serviceListJSON", serviceListJSON)])
    func everyNameResolves(_ fixture: String, _ yaml: String) async throws {
        let problems = try await NameConsistency.violations(clusterYAML: yaml, configYAML: "federations: {myfederation: example.com}")
        #expect(problems.isEmpty, "\(fixture):\n\(problems.joined(separator: "\n"))")
    }
}
