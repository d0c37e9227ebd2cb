import Foundation

/// Runs a program and reports its exit status and standard error (a seam: tests script the answers).
public protocol CommandRunner: Sendable {
    func run(_ program: String, _ arguments: [String]) throws(NodeSetupError) -> (status: Int32, stderr: String)
}

/// Runs programs with `Process`, finding a bare name on PATH.
public struct ProcessRunner: CommandRunner {
    public init() {}

    public func run(_ program: String, _ arguments: [String]) throws(NodeSetupError) -> (status: Int32, stderr: String) {
        guard let path = Self.locate(program) else {
            throw NodeSetupError(operation: "\(program) \(arguments.joined(separator: " "))",
                                 problem: "\(program) not found (on PATH: \(ProcessInfo.processInfo.environment["PATH"] ?? "unset")); "
                                     + "the image must carry iptables (nft backend)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw NodeSetupError(operation: "\(path) \(arguments.joined(separator: " "))", problem: "cannot run: \(error)")
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func locate(_ program: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return (path.split(separator: ":") + ["/usr/sbin", "/sbin"]).map { "\($0)/\(program)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// Applies rules with `iptables`/`ip6tables`: `-C` first, so a rule is added only when missing and two
/// starts leave each rule exactly once.
public struct IPTables: Sendable {
    public let iptables: String
    public let ip6tables: String
    public let runner: any CommandRunner

    public init(iptables: String, ip6tables: String, runner: any CommandRunner = ProcessRunner()) {
        self.iptables = iptables
        self.ip6tables = ip6tables
        self.runner = runner
    }

    /// Whether `rule` is in place. iptables exits 1 when the rule is missing; anything else is a failure.
    public func exists(_ rule: IPTablesRule) throws(NodeSetupError) -> Bool {
        let (program, arguments) = command(rule, "-C")
        let (status, stderr) = try runner.run(program, arguments)
        switch status {
        case 0: return true
        case 1 where !stderr.localizedCaseInsensitiveContains("permission denied"): return false
        default: throw failure(program, arguments, status, stderr)
        }
    }

    /// Adds `rule` when it is missing; true when it was added.
    @discardableResult
    public func ensure(_ rule: IPTablesRule) throws(NodeSetupError) -> Bool {
        if try exists(rule) { return false }
        let (program, arguments) = command(rule, "-I")
        let (status, stderr) = try runner.run(program, arguments)
        guard status == 0 else { throw failure(program, arguments, status, stderr) }
        return true
    }

    /// Deletes every copy of `rule`.
    public func remove(_ rule: IPTablesRule) throws(NodeSetupError) {
        while try exists(rule) {
            let (program, arguments) = command(rule, "-D")
            let (status, stderr) = try runner.run(program, arguments)
            guard status == 0 else { throw failure(program, arguments, status, stderr) }
        }
    }

    func command(_ rule: IPTablesRule, _ operation: String) -> (String, [String]) {
        (rule.ipv6 ? ip6tables : iptables, rule.arguments(operation))
    }

    private func failure(_ program: String, _ arguments: [String], _ status: Int32, _ stderr: String) -> NodeSetupError {
        let hint = stderr.localizedCaseInsensitiveContains("permission denied") || stderr.contains("you must be root")
            ? " (fedns needs CAP_NET_ADMIN for node set-up)" : ""
        return NodeSetupError(operation: "\(program) \(arguments.joined(separator: " "))",
                              problem: "exit status \(status): \(stderr.isEmpty ? "no message" : stderr)\(hint)")
    }
}

/// A node set-up step that failed: the command or netlink call, and what went wrong.
public struct NodeSetupError: Error, CustomStringConvertible, Equatable {
    public var operation: String
    public var problem: String
    /// The errno of a failed system or netlink call.
    public var errno: Int32?
    public init(operation: String, problem: String) { self.operation = operation; self.problem = problem }
    public var description: String { "node set-up: \(operation): \(problem)" }
}
