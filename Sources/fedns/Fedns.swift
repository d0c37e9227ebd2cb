import ArgumentParser
import ClusterState
import Foundation
import Server
import YAMLReader

@main
struct Fedns: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedns",
        abstract: "A Kubernetes in-cluster DNS resolver with federated service names.",
        discussion: """
        Read more in the repository: docs/behaviour.md (what fedns answers and why), \
        docs/configuration.md (every setting), docs/operating.md (metrics, health, troubleshooting), \
        docs/architecture.md (how it is built).
        """,
        version: FednsVersion.string,
        subcommands: [Serve.self, CheckConfig.self, Resolve.self, ConformanceCommand.self, ConfigCommand.self, Publish.self]
    )

    static func main() async {
        await main(booleanFlagsWithValues(Array(CommandLine.arguments.dropFirst())))
    }

    /// `--node-setup=false` and `--node-setup=true` (how Kubernetes manifests often write booleans) as the
    /// parser's `--no-node-setup` and `--node-setup`.
    static func booleanFlagsWithValues(_ arguments: [String]) -> [String] {
        arguments.map { argument in
            switch argument {
            case "--node-setup=true": "--node-setup"
            case "--node-setup=false": "--no-node-setup"
            default: argument
            }
        }
    }
}

enum FednsVersion {
    static let string = "fedns \(FednsBuild.version) (Kubernetes DNS specification 1.1.0)"
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve DNS: the cluster zone, federated names, local zones, and forwarding.",
        discussion: """
        Settings come from flags, then the environment (NODE_NAME, POD_NAMESPACE), then the kube-dns \
        ConfigMap keys (--kube-dns-config-dir), then the config file, then defaults. Every setting is in \
        docs/configuration.md; running fedns (metrics, health, reloads, lameduck) in docs/operating.md.
        """
    )

    @Option(name: .long, help: "YAML configuration file (camelCase keys, see docs/configuration.md).")
    var config: String?

    @Option(name: .long, help: "node-local (DaemonSet) or sidecar.")
    var mode: String?

    @Option(name: .long, help: "Kubernetes objects (YAML/JSON, multi-document or kind: List) to serve; reloaded on change.")
    var clusterState: String?

    @Option(name: .long, help: "Kubeconfig for the Kubernetes API source (list and watch the cluster).")
    var kubeconfig: String?

    @Option(name: .long, help: "The kubeconfig context to use (default: its current-context).")
    var context: String?

    @Flag(name: .long, help: "Use the Kubernetes API source with the pod's service account (token, CA, KUBERNETES_SERVICE_HOST/PORT).")
    var inCluster = false

    @Option(name: .long, help: "Directory with the kube-dns ConfigMap keys (federations, stubDomains, upstreamNameservers).")
    var kubeDnsConfigDir: String?

    @Option(name: .long, help: "HOST:PORT to serve DNS on, UDP and TCP (repeatable).")
    var listen: [String] = []

    @Option(name: .long, help: "Upstream server HOST[:PORT] for forwarded names (repeatable).")
    var upstream: [String] = []

    @Option(name: .long, help: "This node's name: its labels give the zone and region.")
    var nodeName: String?

    @Flag(name: .long, inversion: .prefixedNo,
          help: "Node-local mode: put the listen addresses on a dummy interface and install NOTRACK iptables rules (needs CAP_NET_ADMIN); --node-setup=false turns it off.")
    var nodeSetup: Bool?

    @Option(name: .long, help: "Unix socket for lossless upgrades: take the listening sockets of the fedns serving there, then listen there for the next.")
    var handoffSocket: String?

    @Flag(name: .long, help: "Run the embedded demo cluster (nginx federation example) on 127.0.0.1:5353.")
    var demo = false

    func run() async throws {
        Memory.tuneAllocator()
        var flags = CommandLineSettings()
        flags.configFile = config
        if let mode {
            guard let m = Mode(rawValue: mode) else { throw ValidationError("--mode must be node-local or sidecar, not '\(mode)'") }
            flags.mode = m
        }
        flags.clusterStateFile = clusterState
        flags.kubeconfig = kubeconfig
        flags.inCluster = inCluster
        flags.kubeContext = context
        flags.kubeDNSConfigDir = kubeDnsConfigDir
        flags.listen = listen
        flags.upstreams = upstream
        flags.nodeName = nodeName
        flags.nodeSetup = nodeSetup
        flags.handoffSocket = handoffSocket
        if demo {
            try await DemoRunner.run(flags: flags)
        } else {
            let environment = ProcessInfo.processInfo.environment
            let resolved: FednsConfig
            do { resolved = try ConfigResolver.resolve(flags, environment: environment) } catch {
                throw ValidationError("configuration: \(error)")
            }
            let reload = kubeDnsConfigDir.map { [flags] dir in
                ConfigReload(directory: dir) { try ConfigResolver.resolve(flags, environment: environment) }
            }
            var app = FednsApp(config: resolved, reload: reload)
            if resolved.sourceType == "kubernetes" {
                let setup: KubeSourceSetup
                do { setup = try KubeSourceSetup(config: resolved, environment: environment) } catch {
                    throw ValidationError("configuration: \(error)")
                }
                app.clusterSource = { store, logger in try setup.source(store: store, logger: logger) }
            }
            try await app.run()
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file, or a directory of kube-dns ConfigMap keys, and exit.",
        discussion: "Every key, its type, default and valid values: docs/configuration.md."
    )

    @Argument(help: "A config file or a kube-dns ConfigMap directory.")
    var path: String

    @Option(name: .long, help: "Also validate this cluster state file.")
    var clusterState: String?

    func run() async throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ValidationError("\(path): no such file or directory")
        }
        var flags = CommandLineSettings()
        if isDir.boolValue { flags.kubeDNSConfigDir = path } else { flags.configFile = path }
        flags.clusterStateFile = clusterState
        do {
            let c = try Self.resolve(flags)
            try FednsApp.validate(c)
            if let clusterState { try FednsApp.checkClusterState(path: clusterState, config: c) }
            // The kubeconfig is read as `serve` reads it: the file, the context, and the files it names.
            if c.sourceType == "kubernetes", c.kube.kubeconfig != nil { _ = try KubeSourceSetup(config: c, environment: [:]) }
            let source = c.sourceType == "kubernetes" ? "kubernetes API" + (c.kube.kubeconfig.map { " via \($0)" } ?? " in-cluster") : "file"
            print("\(path): OK (mode \(c.mode.rawValue), \(source) source, \(c.federation.federations.count) federation(s), \(c.forward.upstreams.count) upstream(s))")
        } catch {
            // Errors from a file name it with the line (`fedns.yaml:12: cache.maxEntries: …`); others get the path.
            let placed = (error as? ConfigError)?.file != nil || (error as? ObjectError)?.file != nil
            print(placed ? "\(error)" : "\(path): \(error)")
            throw ExitCode(1)
        }
    }

    /// The configuration as `serve` would resolve it; a file-source config may leave the file to
    /// `serve --cluster-state`, so a missing one is not an error here.
    static func resolve(_ flags: CommandLineSettings) throws(ConfigError) -> FednsConfig {
        let first: ConfigError
        do {
            return try ConfigResolver.resolve(flags, environment: [:])
        } catch {
            first = error
        }
        guard flags.clusterStateFile == nil, first.field == "source.file", first.file == nil else { throw first }
        var placeholder = flags
        placeholder.clusterStateFile = "/dev/null"
        return try ConfigResolver.resolve(placeholder, environment: [:])
    }
}
