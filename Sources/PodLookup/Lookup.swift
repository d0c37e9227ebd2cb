import DNSWire
import Foundation
import Logging
import NameExpansion
import NIOPosix
import Resolver
import Server

/// One lookup as a pod's stub resolver makes it (docs/behaviour.md, the search path): every query it sends for one
/// getaddrinfo call, in order, with what came back, and the addresses it ends with.
public struct Lookup: Sendable {
    /// Whose resolv.conf the stub reads.
    public enum Pod: Sendable {
        /// The ClusterFirst resolv.conf kubelet writes for a pod in `namespace`.
        case namespace(String, clusterDomain: String, hostSearch: [String])
        /// A resolv.conf file.
        case resolvConf(path: String)
    }

    /// Where the answers come from.
    public enum Answers: Sendable {
        /// A running server, `HOST:PORT`: UDP, then TCP when the reply is truncated.
        case server(String, timeoutSeconds: Double)
        /// The chain `fedns serve` would build from the same configuration and state file, in-process;
        /// `clientAddress` is the client the chain sees (node-local search path).
        case inProcess(clusterStateFile: String, configFile: String?, clientAddress: String?)
    }

    public var name: String
    public var pod: Pod
    public var flavor: StubFlavor
    public var family: AddressFamily
    public var answers: Answers

    public init(name: String, pod: Pod, flavor: StubFlavor, family: AddressFamily, answers: Answers) {
        self.name = name; self.pod = pod; self.flavor = flavor; self.family = family; self.answers = answers
    }

    /// Walks the pod's search list the way `flavor` does and reports every query.
    /// - Throws: ``LookupError`` naming the option that is wrong (an unreadable file, a bad name or
    ///   address); the server's own error when the in-process chain cannot be built from the configuration.
    public func run() async throws -> ResolveReport {
        let conf = try podResolvConf()
        let names = candidates(for: name, conf: conf, flavor: flavor)
        guard !names.isEmpty else { throw LookupError("'\(name)' is not a domain name") }
        let trace: StubTrace
        switch answers {
        case .server(let server, let timeoutSeconds):
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            guard let client = DNSClient(server: server, timeoutMilliseconds: Int(timeoutSeconds * 1000), group: group) else {
                try? await group.shutdownGracefully()
                throw LookupError("--server: '\(server)' is not an IP address with an optional :port")
            }
            trace = await StubWalk.run(candidates: names, family: family, flavor: flavor) { await client.ask($0, $1) }
            try? await group.shutdownGracefully()
        case .inProcess(let stateFile, let configFile, let clientAddress):
            trace = try await inProcess(names, stateFile: stateFile, configFile: configFile, clientAddress: clientAddress)
        }
        return ResolveReport(name: name, flavor: flavor.rawValue, family: family.rawValue, ndots: conf.options.ndots,
                             search: conf.search.map(\.description), trace: trace)
    }

    /// The resolv.conf of the pod being simulated.
    func podResolvConf() throws(LookupError) -> ResolvConf {
        switch pod {
        case .resolvConf(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw LookupError("cannot read '\(path)'") }
            return ResolvConf(parsing: String(decoding: data, as: UTF8.self))
        case .namespace(let namespace, let clusterDomain, let hostSearch):
            guard let domain = try? DomainName(clusterDomain) else {
                throw LookupError("--cluster-domain: '\(clusterDomain)' is not a domain name")
            }
            var host: [DomainName] = []
            for text in hostSearch {
                guard let d = try? DomainName(text) else { throw LookupError("--host-search: '\(text)' is not a domain name") }
                host.append(d)
            }
            return ResolvConf.kubernetesPod(namespace: namespace.lowercased(), clusterDomain: domain, hostSearch: host,
                                            nameserver: "10.96.0.10")
        }
    }

    /// Answers from the chain `fedns serve` would build from the same configuration and state file;
    /// with a namespace the server sees the pod's namespace as a sidecar does (POD_NAMESPACE).
    func inProcess(_ names: [DomainName], stateFile: String, configFile: String?,
                   clientAddress: String?) async throws -> StubTrace {
        var flags = CommandLineSettings()
        flags.configFile = configFile
        flags.clusterStateFile = stateFile
        var environment = ProcessInfo.processInfo.environment
        if case .namespace(let namespace, _, _) = pod { environment["POD_NAMESPACE"] = namespace }
        let resolved: FednsConfig
        do { resolved = try ConfigResolver.resolve(flags, environment: environment) } catch {
            throw LookupError("configuration: \(error)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var logger = Logger(label: "fedns.resolve")
        logger.logLevel = .warning
        let stack: ResolverStack
        do { stack = try ResolverStack.build(config: resolved, group: group, logger: logger) } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        let chain = stack.chain
        let trace = await StubWalk.run(candidates: names, family: family, flavor: flavor) { name, type in
            let query = Message.query(id: UInt16.random(in: 0...UInt16.max), name: name, type: type)
            let response = await chain.resolve(Request(message: query, transport: .udp, clientAddress: clientAddress))
            return Exchange(reply: response.message, error: nil, transport: "in-process")
        }
        try? await group.shutdownGracefully()
        return trace
    }
}

/// Why a lookup could not start; the message names the option at fault.
public struct LookupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
