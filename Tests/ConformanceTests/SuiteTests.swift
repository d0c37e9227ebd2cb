import Conformance
import Foundation
import Testing

/// The whole shipped suite (conformance/), in-process on virtual time: one test case per scenario.
struct SuiteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("conformance").path
    static let files: [String] = (try? Suite.files([root])) ?? []

    @Test func suiteIsLargeEnough() {
        #expect(Self.files.count >= 60, "conformance/ has \(Self.files.count) scenarios")
        // Shared clusters are included by scenarios, not run as scenarios.
        #expect(!Self.files.contains { $0.contains("/worlds/") })
    }

    @Test(arguments: files)
    func scenarioPasses(_ file: String) async {
        let result = await Suite(mode: .inProcess).run(file: file)
        #expect(result.status == .ok, "\(Suite.line(result))")
    }
}
