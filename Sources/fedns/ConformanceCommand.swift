import ArgumentParser
import Conformance
import Foundation
import Logging

/// `fedns conformance run PATH…`: scripted scenarios against fedns in-process (default), a running
/// server (`--server`), or a fedns process started per scenario (`--fedns-binary`).
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run conformance scenarios (see conformance/README.md).",
        discussion: "The format of a scenario is in conformance/README.md; which rule each checks, in docs/behaviour.md.",
        subcommands: [ConformanceRun.self]
    )
}

struct ConformanceRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenario files or directories and report one line per scenario.",
        discussion: """
        Without --server or --fedns-binary, fedns runs in this process on virtual time with scripted
        upstreams (every scenario). --fedns-binary starts that binary per scenario (scenarios tagged
        static or blackbox). --server sends to a running server (static and blackbox scenarios; cluster
        changes need --cluster-state-file). Exits 1 when any scenario fails. The format: conformance/README.md.
        """
    )

    @Argument(help: "Scenario files or directories (searched for .yaml files).")
    var paths: [String]

    @Option(name: .long, help: "HOST:PORT of a running DNS server to test.")
    var server: String?

    @Option(name: .long, help: "With --server: the server's cluster state file, rewritten for cluster changes.")
    var clusterStateFile: String?

    @Option(name: .long, help: "Start this fedns binary for each scenario.")
    var fednsBinary: String?

    @Option(name: .long, help: "Write JUnit XML results to FILE.")
    var junit: String?

    func validate() throws {
        if server != nil && fednsBinary != nil { throw ValidationError("--server and --fedns-binary exclude each other") }
        if clusterStateFile != nil && server == nil { throw ValidationError("--cluster-state-file goes with --server") }
    }

    func run() async throws {
        // In-process fedns logs through swift-log; the report is the output here.
        LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
        let mode: Suite.Mode
        if let server { mode = .server(server, clusterStateFile: clusterStateFile) }
        else if let fednsBinary { mode = .fednsBinary(fednsBinary) }
        else { mode = .inProcess }
        let suite = Suite(mode: mode)
        let files: [String]
        do { files = try Suite.files(paths) } catch { throw ValidationError("\(error)") }
        var results: [ScenarioResult] = []
        for file in files {
            let result = await suite.run(file: file)
            results.append(result)
            print(Suite.line(result))
            fflush(nil)
        }
        print(Suite.summary(results))
        if let junit {
            try Suite.junit(results).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        if results.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}
