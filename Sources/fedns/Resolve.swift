import ArgumentParser
import NameExpansion
import PodLookup

/// `fedns resolve NAME`: the options of a ``Lookup``; the lookup itself lives in PodLookup.
struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show, as a pod would experience it, every query its stub resolver sends for NAME and the addresses it gets.",
        discussion: """
        The pod's resolv.conf is Kubernetes' ClusterFirst one for --namespace, or --resolv-conf FILE. \
        Answers come from a running server (--server HOST:PORT, UDP then TCP on TC) or from the chain \
        fedns serve would build, in-process (--cluster-state FILE [--config FILE]). The search path and \
        the answers it walks through: docs/behaviour.md.
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
        let pod: Lookup.Pod = if let resolvConf { .resolvConf(path: resolvConf) } else {
            .namespace(namespace!, clusterDomain: clusterDomain, hostSearch: hostSearch)
        }
        let answers: Lookup.Answers = if let server { .server(server, timeoutSeconds: timeout) } else {
            .inProcess(clusterStateFile: clusterState!, configFile: config, clientAddress: clientAddress)
        }
        let lookup = Lookup(name: name, pod: pod, flavor: StubFlavor(rawValue: flavor)!, family: AddressFamily(rawValue: family)!,
                            answers: answers)
        let report: ResolveReport
        do { report = try await lookup.run() } catch let error as LookupError { throw ValidationError(error.description) }
        print(json ? report.json : report.text, terminator: "")
        if !report.succeeded { throw ExitCode(2) }
    }
}
