import Foundation

/// Finds scenario files, runs them in one mode, and reports (one line per scenario, diffs on
/// failure, `N passed, N failed[, N skipped]`, JUnit XML).
public struct Suite {
    public enum Mode: Sendable {
        /// fedns in this process, virtual time, scripted upstreams behind the transport seam.
        case inProcess
        /// A running server: `static` scenarios; with its cluster state file (a fedns) `blackbox` ones too.
        case server(String, clusterStateFile: String?)
        /// A fedns process per scenario; `static` and `blackbox` scenarios.
        case fednsBinary(String)
    }

    public var mode: Mode
    public init(mode: Mode) { self.mode = mode }

    /// Every `.yaml`/`.yml` file under `paths` (files as given, directories recursively, sorted),
    /// except what a `worlds/` directory holds: shared clusters that scenarios include with `world:`.
    public static func files(_ paths: [String]) throws(ScenarioError) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw ScenarioError("\(path): no such file or directory") }
            if !isDir.boolValue { out.append(path); continue }
            let found = (fm.enumerator(atPath: path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .filter { !$0.split(separator: "/").dropLast().contains("worlds") }
                .sorted()
                .map { (path as NSString).appendingPathComponent($0) }
            out += found
        }
        return out
    }

    /// Why this mode cannot run `scenario`, or nil.
    public func skipReason(_ scenario: Scenario) -> String? {
        switch mode {
        case .inProcess:
            return nil
        case .server(_, let stateFile):
            // Without the state file the server is any DNS server: only data it was given can be asked about.
            if stateFile == nil { return scenario.isStatic ? nil : "not tagged static (needs a fedns with --cluster-state-file)" }
            return scenario.isBlackBox ? nil : "needs fedns internals or virtual time (not tagged static or blackbox)"
        case .fednsBinary:
            return scenario.isBlackBox ? nil : "needs virtual time or internals (not tagged static or blackbox)"
        }
    }

    /// Parses and runs one file.
    public func run(file: String) async -> ScenarioResult {
        let started = Date()
        let scenario: Scenario
        do { scenario = try ScenarioParser.parse(file: file) } catch {
            return ScenarioResult(name: (file as NSString).lastPathComponent, path: file, status: .fail,
                                  messages: ["scenario does not parse: \(error)"], seconds: 0)
        }
        return await run(scenario, started: started)
    }

    public func run(_ scenario: Scenario, started: Date = Date()) async -> ScenarioResult {
        if let why = skipReason(scenario) {
            return ScenarioResult(name: scenario.name, path: scenario.path, status: .skip, messages: [why], seconds: 0)
        }
        let target: any ScenarioTarget
        do {
            switch mode {
            case .inProcess: target = try InProcessTarget(scenario)
            case .server(let address, let stateFile): target = try await RemoteTarget.external(scenario, server: address, clusterStateFile: stateFile)
            case .fednsBinary(let binary): target = try await RemoteTarget.spawn(scenario, binary: binary)
            }
        } catch {
            return ScenarioResult(name: scenario.name, path: scenario.path, status: .fail, messages: ["set-up failed: \(error)"],
                                  seconds: Date().timeIntervalSince(started))
        }
        let failures = await ScenarioRunner.run(scenario, on: target)
        await target.tearDown()
        return ScenarioResult(name: scenario.name, path: scenario.path, status: failures.isEmpty ? .ok : .fail, messages: failures,
                              seconds: Date().timeIntervalSince(started))
    }

    /// The line printed for a result, with its diff indented below on failure.
    public static func line(_ r: ScenarioResult) -> String {
        switch r.status {
        case .ok: return "ok   \(r.name)"
        case .skip: return "skip \(r.name) (\(r.messages.first ?? ""))"
        case .fail: return "FAIL \(r.name) (\(r.path))\n" + r.messages.map { Checker.indent($0, by: "    ") }.joined(separator: "\n")
        }
    }

    /// `N passed, N failed` and `, N skipped` when any were.
    public static func summary(_ results: [ScenarioResult]) -> String {
        let passed = results.filter { $0.status == .ok }.count
        let failed = results.filter { $0.status == .fail }.count
        let skipped = results.filter { $0.status == .skip }.count
        return "\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : "")
    }

    /// JUnit XML, one testcase per scenario.
    public static func junit(_ results: [ScenarioResult], suiteName: String = "fedns-conformance") -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let failed = results.filter { $0.status == .fail }.count
        let skipped = results.filter { $0.status == .skip }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuite name=\"\(suiteName)\" tests=\"\(results.count)\" failures=\"\(failed)\" skipped=\"\(skipped)\" time=\"\(String(format: "%.3f", total))\">\n"
        for r in results {
            xml += "  <testcase classname=\"\(esc(r.path))\" name=\"\(esc(r.name))\" time=\"\(String(format: "%.3f", r.seconds))\""
            switch r.status {
            case .ok: xml += "/>\n"
            case .skip: xml += ">\n    <skipped message=\"\(esc(r.messages.first ?? ""))\"/>\n  </testcase>\n"
            case .fail:
                let text = r.messages.joined(separator: "\n")
                xml += ">\n    <failure message=\"\(esc(r.messages.first?.split(separator: "\n").first.map(String.init) ?? "failed"))\">\(esc(text))</failure>\n  </testcase>\n"
            }
        }
        return xml + "</testsuite>\n"
    }
}
