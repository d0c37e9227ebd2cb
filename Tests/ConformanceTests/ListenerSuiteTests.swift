import Conformance
import Testing

/// The whole shipped suite once more, through the server's real UDP and TCP listeners on a loopback
/// port (virtual time and scripted upstreams as in-process). Where asking again changes nothing, each
/// UDP answer is asked for again, from the listener's pre-rendered table, and once per scenario over
/// TCP: the answers must be the same message. One scenario at a time: real sockets and real time are shared with the
/// other suites' timing-sensitive tests.
@Suite(.serialized) struct ListenerSuiteTests {
    @Test(arguments: SuiteTests.files)
    func scenarioPassesThroughTheListeners(_ file: String) async throws {
        let scenario = try ScenarioParser.parse(file: file)
        let target = try await ListenerTarget(scenario)
        let failures = await ScenarioRunner.run(scenario, on: target)
        await target.tearDown()
        #expect(failures.isEmpty, "\(scenario.name) (\(file)):\n\(failures.joined(separator: "\n"))")
        #expect(target.mismatches.isEmpty, "\(file):\n\(target.mismatches.joined(separator: "\n"))")
    }

    @Test func thePrerenderedTableAnswersRepeatedClusterQueries() async throws {
        // A scenario of its own: the per-file test above cannot see the others' counts.
        let scenario = try ScenarioParser.parse(file: SuiteTests.root + "/cluster/ptr.yaml")
        let target = try await ListenerTarget(scenario)
        let failures = await ScenarioRunner.run(scenario, on: target)
        await target.tearDown()
        #expect(failures.isEmpty)
        #expect(target.tableAnswers == scenario.steps.count, "every repeated cluster answer came from the table")
    }
}
