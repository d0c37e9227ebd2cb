import DNSWire
import Foundation
import NameExpansion
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// A real DNS server over UDP/TCP: either one already running (`--server`), or a fedns process this
/// runner starts per scenario (`--fedns-binary`) with the scenario's config and state file, its
/// upstreams pointed at the scripted ones. Time is real; cluster changes rewrite the state file.
public final class RemoteTarget: ScenarioTarget {
    public let script: UpstreamScript
    let host: String
    let port: UInt16
    var upstreams: [LoopbackUpstream] = []
    /// The cluster state file this runner rewrites, when it may.
    let stateFile: String?
    /// How long to wait after a rewrite when the server's reload cannot be observed.
    let reloadWait: Double
    var process: Process?
    var workDir: URL?
    /// fedns's metrics port (spawned mode): the snapshot generation shows when a rewrite is live.
    var metricsPort: UInt16?

    init(script: UpstreamScript, host: String, port: UInt16, stateFile: String?, reloadWait: Double) {
        self.script = script; self.host = host; self.port = port; self.stateFile = stateFile; self.reloadWait = reloadWait
    }

    /// A server someone else started: the scripted upstreams bind their scenario addresses as written.
    public static func external(_ scenario: Scenario, server: String, clusterStateFile: String?, reloadWait: Double = 1.5) async throws -> RemoteTarget {
        guard case .success(let hp) = AddressAndPort.parse(server) else { throw ScenarioError("--server: '\(server)' is not HOST:PORT") }
        let script = UpstreamScript(scenario.upstreams)
        let target = RemoteTarget(script: script, host: hp.host, port: hp.port, stateFile: clusterStateFile, reloadWait: reloadWait)
        for u in scenario.upstreams {
            guard case .success(let a) = AddressAndPort.parse(u.address) else { continue }
            target.upstreams.append(try LoopbackUpstream(u, host: a.host, port: a.port, script: script))
        }
        if let clusterStateFile, let objects = scenario.cluster {
            try ScenarioRunner.stateFile(objects).write(toFile: clusterStateFile, atomically: true, encoding: .utf8)
            try await Task.sleep(nanoseconds: UInt64(reloadWait * 1e9))
        }
        return target
    }

    /// Starts `binary` for this scenario on a free loopback port.
    public static func spawn(_ scenario: Scenario, binary: String) async throws -> RemoteTarget {
        let script = UpstreamScript(scenario.upstreams)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-conformance-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = try Sockets.freePort(host: "127.0.0.1")
        let target = RemoteTarget(script: script, host: "127.0.0.1", port: port, stateFile: dir.appendingPathComponent("cluster.yaml").path,
                                  reloadWait: 1.5)
        target.workDir = dir
        do {
            var mapping: [String: String] = [:]
            for u in scenario.upstreams {
                let server = try LoopbackUpstream(u, host: "127.0.0.1", port: 0, script: script)
                target.upstreams.append(server)
                if case .success(let a) = AddressAndPort.parse(u.address) { mapping[a.description] = server.address }
            }
            let metricsPort = try Sockets.freePort(host: "127.0.0.1")
            target.metricsPort = metricsPort
            let config = try spawnConfig(scenario.configYAML, upstreams: mapping, listen: "127.0.0.1:\(port)", metrics: "127.0.0.1:\(metricsPort)",
                                         stateFile: target.stateFile!)
            let configFile = dir.appendingPathComponent("fedns.yaml").path
            try config.write(toFile: configFile, atomically: true, encoding: .utf8)
            if let objects = scenario.cluster {
                try ScenarioRunner.stateFile(objects).write(toFile: target.stateFile!, atomically: true, encoding: .utf8)
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["serve", "--config", configFile]
            process.environment = ["PATH": "/usr/bin:/bin"]
            _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("fedns.log").path, contents: nil)
            let log = try FileHandle(forWritingTo: dir.appendingPathComponent("fedns.log"))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            target.process = process
            try await target.waitUntilServing(clusterDomain: try clusterDomain(scenario.configYAML))
            if scenario.cluster != nil { try await target.waitUntilSynced() }
        } catch {
            await target.tearDown()
            throw error
        }
        return target
    }

    /// The scenario's config with the runner's addresses: listen, metrics, state file, scripted
    /// upstreams in place of the scenario's addresses (an unanswered closed port when there are none).
    static func spawnConfig(_ yaml: String, upstreams mapping: [String: String], listen: String, metrics: String, stateFile: String) throws -> String {
        var map = (try Yams.load(yaml: yaml) as? [String: Any]) ?? [:]
        func rewrite(_ s: String) -> String {
            guard case .success(let a) = AddressAndPort.parse(s) else { return s }
            return mapping[a.description] ?? s
        }
        if let list = map["upstreams"] as? [Any] {
            map["upstreams"] = list.map { ($0 as? String).map(rewrite) ?? $0 }
        } else if let one = map["upstreams"] as? String {
            map["upstreams"] = [rewrite(one)]
        }
        if let stubs = map["stubDomains"] as? [String: Any] {
            map["stubDomains"] = stubs.mapValues { v in (v as? [Any])?.map { ($0 as? String).map(rewrite) ?? $0 } ?? v }
        }
        if map["upstreams"] == nil && map["stubDomains"] == nil {
            map["upstreams"] = ["127.0.0.1:\(try Sockets.freePort(host: "127.0.0.1"))"]
        }
        map["listen"] = [listen]
        map["metrics"] = ["listen": metrics]
        map["health"] = ["listen": ""]
        map["ready"] = ["listen": ""]
        map["lameduck"] = 0
        map["source"] = ["type": "file", "file": stateFile]
        return try Yams.dump(object: map)
    }

    static func clusterDomain(_ yaml: String) throws -> String {
        ((try Yams.load(yaml: yaml) as? [String: Any])?["clusterDomain"] as? String) ?? "cluster.local"
    }

    /// Polls until the server answers anything over UDP and over TCP (SERVFAIL before the first sync
    /// counts). fedns binds its UDP sockets first and its TCP listener after them: an answer over UDP
    /// alone left a scenario whose first query is over TCP connecting before anything listened.
    static let startPatience: Double = 60

    func waitUntilServing(clusterDomain: String) async throws {
        let probe = WireCodec.encode(Message.query(id: 7, name: try DomainName("dns-version.\(clusterDomain)"), type: .txt))
        // Generous: a debug build starting on a loaded machine; a healthy start takes well under a second.
        let deadline = Date().addingTimeInterval(Self.startPatience)
        var answered: Set<QuerySpec.Transport> = []
        while Date() < deadline {
            if let process, !process.isRunning { throw ScenarioError("fedns exited at start-up:\n\(logTail())") }
            if !answered.contains(.udp), (try? Sockets.udpExchange(probe, host: host, port: port, wait: 0.2)) ?? nil != nil {
                answered.insert(.udp)
            }
            if !answered.contains(.tcp), (try? Sockets.tcpExchange(probe, host: host, port: port, wait: 0.5)) ?? nil != nil {
                answered.insert(.tcp)
            }
            if answered.count == 2 { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let missing = [QuerySpec.Transport.udp, .tcp].filter { !answered.contains($0) }.map { "\($0)" }.joined(separator: " and ")
        throw ScenarioError("fedns did not answer over \(missing) on \(host):\(port) within \(Int(Self.startPatience)) s:\n\(logTail())")
    }

    /// Waits for the first install of the state file written before start: fedns answers (SERVFAIL,
    /// EDE 14) while it still reads the file, and a scenario's first query must see the cluster.
    func waitUntilSynced() async throws {
        guard let metricsPort else { return }
        let deadline = Date().addingTimeInterval(Self.startPatience)
        while Date() < deadline {
            if let g = Self.generation(metricsPort: metricsPort), g >= 1 { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw ScenarioError("fedns did not load the cluster state file within \(Int(Self.startPatience)) s:\n\(logTail())")
    }

    func logTail() -> String {
        guard let dir = workDir, let text = try? String(contentsOf: dir.appendingPathComponent("fedns.log"), encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    public func send(_ packet: [UInt8], over transport: QuerySpec.Transport, step: Int, patience: Double) async -> [UInt8]? {
        let (host, port) = (self.host, self.port)
        // Blocking sockets: run off the cooperative pool.
        return await withCheckedContinuation { c in
            Thread.detachNewThread {
                let answer = transport == .tcp ? try? Sockets.tcpExchange(packet, host: host, port: port, wait: patience)
                    : try? Sockets.udpExchange(packet, host: host, port: port, wait: patience)
                c.resume(returning: answer ?? nil)
            }
        }
    }

    public func install(cluster objects: [ClusterObject]) async throws {
        guard let stateFile else { throw ScenarioError("cluster changes need --cluster-state-file") }
        let before = metricsPort.flatMap(Self.generation(metricsPort:))
        try ScenarioRunner.stateFile(objects).write(toFile: stateFile, atomically: true, encoding: .utf8)
        guard let metricsPort else {
            try await Task.sleep(nanoseconds: UInt64(reloadWait * 1e9))
            return
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let now = Self.generation(metricsPort: metricsPort), now > (before ?? 0) { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw ScenarioError("fedns did not reload the cluster state within 10 s:\n\(logTail())")
    }

    /// `fedns_cluster_snapshot_generation` from the metrics endpoint.
    static func generation(metricsPort: UInt16) -> Int? {
        guard let address = Sockets.Address(host: "127.0.0.1", port: metricsPort), let fd = try? Sockets.open(AF_INET, Sockets.tcp) else { return nil }
        defer { close(fd) }
        guard address.withPointer({ connect(fd, $0, $1) }) == 0,
              Sockets.writeAll(fd, Array("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)) else { return nil }
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while Sockets.readable(fd, seconds: 2) {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            body += chunk[0..<n]
        }
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("fedns_cluster_snapshot_generation ") {
            return Double(line.split(separator: " ").last ?? "").map { Int($0) }
        }
        return nil
    }

    public func pass(seconds: Double) async {
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }

    public func tearDown() async {
        for u in upstreams { u.stop() }
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if let workDir { try? FileManager.default.removeItem(at: workDir) }
    }
}
