import ArgumentParser
import ClusterState
import DNSWire
import Foundation
import Logging
import NameExpansion
import NIOPosix
import Resolver
import Server

/// `fedns resolve NAME`: every query a pod's stub resolver sends for one getaddrinfo call, in order,
/// with what came back, and the addresses it ends with (DESIGN §3).
struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, as a pod would experience it, every query its stub resolver sends for NAME and the addresses it gets.",
        discussion: """
        The pod's resolv.conf is Kubernetes' ClusterFirst one for --namespace, or --resolv-conf FILE. \
        Answers come from a running server (--server HOST:PORT, UDP then TCP on TC) or from the chain \
        fedns serve would build, in-process (--cluster-state FILE [--config FILE]).
        """
    )

    @Argument(help: "The name as an application passes it to getaddrinfo (a trailing dot makes it absolute).")
    var name: String

    @Option(name: .long, help: "The pod's namespace: use the ClusterFirst resolv.conf kubelet writes.")
    var namespace: String?

    @Option(name: .long, help: "Cluster domain for --namespace.")
    var clusterDomain = "cluster.local"

    @Option(name: .long, help: "Search domains of the node, appended to a --namespace resolv.conf (repeatable).")
    var hostSearch: [String] = []

    @Option(name: .long, help: "Use this resolv.conf instead of --namespace.")
    var resolvConf: String?

    @Option(name: .long, help: "Stub resolver: glibc or musl.")
    var flavor = "glibc"

    @Option(name: .long, help: "Address family as getaddrinfo asks: inet (A), inet6 (AAAA) or any (both).")
    var family = "any"

    @Option(name: .long, help: "Ask this running server, HOST:PORT.")
    var server: String?

    @Option(name: .long, help: "Answer in-process from this cluster state file, with the chain fedns serve builds.")
    var clusterState: String?

    @Option(name: .long, help: "fedns configuration file for --cluster-state.")
    var config: String?

    @Option(name: .long, help: "Client address the in-process chain sees (node-local search path).")
    var clientAddress: String?

    @Option(name: .long, help: "Seconds to wait for each reply from --server.")
    var timeout: Double = 2

    @Flag(name: .long, help: "Print JSON for scripts.")
    var json = false

    func validate() throws {
        guard (namespace == nil) != (resolvConf == nil) else { throw ValidationError("give exactly one of --namespace and --resolv-conf") }
        guard (server == nil) != (clusterState == nil) else { throw ValidationError("give exactly one of --server and --cluster-state") }
        if config != nil && clusterState == nil { throw ValidationError("--config goes with --cluster-state") }
        guard StubFlavor(rawValue: flavor) != nil else { throw ValidationError("--flavor must be glibc or musl") }
        guard AddressFamily(rawValue: family) != nil else { throw ValidationError("--family must be inet, inet6 or any") }
    }

    func run() async throws {
        let conf = try podResolvConf()
        let stub = StubFlavor(rawValue: flavor)!
        let fam = AddressFamily(rawValue: family)!
        let names = candidates(for: name, conf: conf, flavor: stub)
        guard !names.isEmpty else { throw ValidationError("'\(name)' is not a domain name") }
        let trace: StubTrace
        if let server {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            guard let client = DNSClient(server: server, timeoutMilliseconds: Int(timeout * 1000), group: group) else {
                throw ValidationError("--server: '\(server)' is not an IP address with an optional :port")
            }
            trace = await StubWalk.run(candidates: names, family: fam, flavor: stub) { await client.ask($0, $1) }
            try? await group.shutdownGracefully()
        } else {
            trace = try await inProcess(names, family: fam, flavor: stub)
        }
        let report = ResolveReport(name: name, flavor: stub.rawValue, family: fam.rawValue, ndots: conf.options.ndots,
                                   search: conf.search.map(\.description), trace: trace)
        print(json ? report.json : report.text, terminator: "")
        if trace.status != .ok { throw ExitCode(2) }
    }

    /// The resolv.conf of the pod being simulated.
    func podResolvConf() throws -> ResolvConf {
        if let resolvConf {
            guard let data = FileManager.default.contents(atPath: resolvConf) else { throw ValidationError("cannot read '\(resolvConf)'") }
            return ResolvConf(parsing: String(decoding: data, as: UTF8.self))
        }
        guard let domain = try? DomainName(clusterDomain) else { throw ValidationError("--cluster-domain: '\(clusterDomain)' is not a domain name") }
        let host = try hostSearch.map { text in
            guard let d = try? DomainName(text) else { throw ValidationError("--host-search: '\(text)' is not a domain name") }
            return d
        }
        return ResolvConf.kubernetesPod(namespace: namespace!.lowercased(), clusterDomain: domain, hostSearch: host, nameserver: "10.96.0.10")
    }

    /// Answers from the chain `fedns serve` would build from the same configuration and state file;
    /// with --namespace the server sees the pod's namespace as a sidecar does (POD_NAMESPACE).
    func inProcess(_ names: [DomainName], family: AddressFamily, flavor: StubFlavor) async throws -> StubTrace {
        var flags = CommandLineSettings()
        flags.configFile = config
        flags.clusterStateFile = clusterState
        var environment = ProcessInfo.processInfo.environment
        if let namespace { environment["POD_NAMESPACE"] = namespace }
        let resolved: FednsConfig
        do { resolved = try ConfigResolver.resolve(flags, environment: environment) } catch {
            throw ValidationError("configuration: \(error)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "fedns.resolve")
        logger.logLevel = .warning
        let stack = try ResolverStack.build(config: resolved, group: group, logger: logger)
        let chain = stack.chain
        let client = clientAddress
        let trace = await StubWalk.run(candidates: names, family: family, flavor: flavor) { name, type in
            let query = Message.query(id: UInt16.random(in: 0...UInt16.max), name: name, type: type)
            let response = await chain.resolve(Request(message: query, transport: .udp, clientAddress: client))
            return Exchange(reply: response.message, error: nil, transport: "in-process")
        }
        try? await group.shutdownGracefully()
        return trace
    }
}

/// What `fedns resolve` prints.
struct ResolveReport: Codable {
    var name: String
    var flavor: String
    var family: String
    var ndots: Int
    var search: [String]
    var trace: StubTrace

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One line per query, then the result:
    ///
    /// ```text
    /// 1  nginx.mynamespace.myfederation.default.svc.cluster.local. A     → NXDOMAIN
    /// ```
    var text: String {
        var out = "\(name) with \(flavor), family \(family), ndots:\(ndots), search \(search.isEmpty ? "(none)" : search.joined(separator: " "))\n"
        let width = trace.queries.map(\.name.count).max() ?? 0
        let numberWidth = String(trace.queries.count).count
        for q in trace.queries {
            var line = String(q.index).padding(toLength: numberWidth, withPad: " ", startingAt: 0) + "  "
            line += q.name.padding(toLength: width, withPad: " ", startingAt: 0) + " "
            line += q.type.padding(toLength: 5, withPad: " ", startingAt: 0) + " → " + q.rcode
            if !q.answer.isEmpty { line += "  " + q.answer.joined(separator: ", ") }
            if let error = q.error { line += "  (\(error))" }
            if q.transport == "tcp" { line += "  [tcp]" }
            out += line + "\n"
        }
        let count = "\(trace.queries.count) quer\(trace.queries.count == 1 ? "y" : "ies")"
        switch trace.status {
        case .ok:
            out += "result: \(trace.addresses.joined(separator: " ")) (from \(trace.answeredName ?? "?"), after \(count))\n"
        case .nodata:
            out += "result: no address (NODATA\(trace.answeredName.map { " at \($0)" } ?? ""), after \(count))\n"
        case .nxdomain:
            out += "result: name not found (every name NXDOMAIN, after \(count))\n"
        case .servfail:
            out += "result: temporary failure (SERVFAIL, after \(count))\n"
        case .error:
            out += "result: lookup failed (no usable reply, after \(count))\n"
        }
        return out
    }
}
