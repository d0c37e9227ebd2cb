import DNSWire
import Foundation
import NameExpansion

/// Where a scenario's steps go: fedns in-process on virtual time, or a real server over sockets.
public protocol ScenarioTarget: AnyObject {
    /// The scripted upstreams' decisions and log for this run.
    var script: UpstreamScript { get }
    /// Sends one packet; nil when no answer came (a drop, or `patience` seconds of real time passed).
    func send(_ packet: [UInt8], over transport: QuerySpec.Transport, step: Int, patience: Double) async -> [UInt8]?
    /// Makes `objects` the cluster state and returns once the server answers from it.
    func install(cluster objects: [ClusterObject]) async throws
    func pass(seconds: Double) async
    func tearDown() async
}

/// How one scenario ended.
public struct ScenarioResult: Sendable {
    public enum Status: String, Sendable { case ok, fail, skip }
    public var name: String
    public var path: String
    public var status: Status
    /// For a failure: one entry per failed step, with its diff; for a skip: the reason.
    public var messages: [String]
    public var seconds: Double
    public init(name: String, path: String, status: Status, messages: [String], seconds: Double) {
        self.name = name; self.path = path; self.status = status; self.messages = messages; self.seconds = seconds
    }
}

/// Runs the steps of a scenario against a target and checks every expectation.
public enum ScenarioRunner {
    public static func run(_ scenario: Scenario, on target: any ScenarioTarget) async -> [String] {
        var failures: [String] = []
        var objects = scenario.cluster ?? []
        var windowStart = 0
        var previousWasExpectUpstream = false
        for step in scenario.steps {
            target.script.step = step.index
            if case .expectUpstream = step.action {} else if previousWasExpectUpstream {
                windowStart = target.script.log.count
            }
            switch step.action {
            case .query(let spec, let expectation):
                let packet = QueryBuilder.packet(spec)
                // A stub waits 5 s; a deliberate drop is given 1 s to prove itself.
                let answer = await target.send(packet, over: spec.transport, step: step.index, patience: expectation.noResponse ? 1 : 6)
                let problems = Checker.check(answer, query: packet, spec: spec, against: expectation)
                if !problems.isEmpty {
                    failures.append("step \(step.index) (query \(QueryBuilder.describe(spec))):\n" + problems.map { Checker.indent($0, by: "  ") }.joined(separator: "\n"))
                }
                previousWasExpectUpstream = false
            case .expectUpstream(let x):
                let log = Array(target.script.log.dropFirst(windowStart))
                let matching = log.filter { q in
                    (x.upstream == nil || q.upstream == x.upstream)
                        && (x.name == nil || q.question?.name == x.name)
                        && (x.type == nil || q.question?.type == x.type)
                        && (x.transport == nil || q.transport == x.transport)
                }
                let ok = (x.count.map { matching.count == $0 } ?? true) && (x.atLeast.map { matching.count >= $0 } ?? true)
                if !ok {
                    let want = x.count.map { "\($0)" } ?? "at least \(x.atLeast!)"
                    let what = [x.upstream.map { "at \($0)" }, x.name.map { "\($0)" }, x.type.map { "\($0)" }, x.transport.map { "over \($0)" }]
                        .compactMap { $0 }.joined(separator: " ")
                    failures.append("step \(step.index) (expectUpstream \(what)): expected \(want), got \(matching.count)\n"
                        + "  upstream queries since the previous check:\n"
                        + (log.isEmpty ? "    (none)" : log.map { "    \($0)" }.joined(separator: "\n")))
                }
                previousWasExpectUpstream = true
            case .clusterChange(let change):
                switch change.applied(to: objects) {
                case .success(let next):
                    objects = next
                    do { try await target.install(cluster: objects) } catch {
                        failures.append("step \(step.index) (clusterChange): \(error)")
                        return failures
                    }
                case .failure(let error):
                    failures.append("step \(step.index): \(error)")
                    return failures
                }
                previousWasExpectUpstream = false
            case .timePasses(let seconds):
                await target.pass(seconds: seconds)
                previousWasExpectUpstream = false
            }
        }
        return failures
    }

    /// The cluster objects as one multi-document YAML file (the file source's format).
    public static func stateFile(_ objects: [ClusterObject]) -> String {
        objects.map { "---\n" + $0.yaml }.joined(separator: "\n")
    }
}

/// Turns a `QuerySpec` into bytes with a fresh random ID.
enum QueryBuilder {
    static func packet(_ spec: QuerySpec) -> [UInt8] {
        if let raw = spec.raw { return raw }
        var m = Message.query(id: UInt16.random(in: 1 ... .max), name: spec.name, type: spec.type, class: spec.class,
                              recursionDesired: spec.flags.contains("rd"), edns: nil)
        m.header.opcode = spec.opcode
        m.header.checkingDisabled = spec.flags.contains("cd")
        m.header.authenticData = spec.flags.contains("ad")
        m.header.authoritative = spec.flags.contains("aa")
        if case .on(let e) = spec.edns { m.edns = e }
        return WireCodec.encode(m)
    }

    static func describe(_ spec: QuerySpec) -> String {
        if let raw = spec.raw { return "raw \(raw.count) bytes over \(spec.transport)" }
        return "\(spec.name) \(spec.class == .in ? "" : "\(spec.class) ")\(spec.type) over \(spec.transport)"
    }
}
