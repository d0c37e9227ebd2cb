import ArgumentParser
import Server

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Describe fedns's configuration.",
        discussion: "See docs/configuration.md.",
        subcommands: [Reference.self]
    )

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration reference (Markdown): every key, ConfigMap key, variable and flag.",
            discussion: "The output is docs/configuration.md; a test fails when the committed file differs."
        )

        func run() throws {
            print(ConfigReference.markdown(flags: Serve.flagReference), terminator: "")
        }
    }
}

extension Serve {
    /// Every flag of `fedns serve`, for the configuration reference (an end-to-end test checks that
    /// `fedns serve --help` lists no other).
    static let flagReference: [FlagDoc] = [
        FlagDoc("--config", value: "path", meaning: "the YAML configuration file", example: "--config /etc/fedns/fedns.yaml"),
        FlagDoc("--mode", value: "`node-local` or `sidecar`", meaning: "sets `mode`", example: "--mode sidecar"),
        FlagDoc("--cluster-state", value: "path", meaning: "Kubernetes objects to serve (the file source); sets `source.file` and `source.type: file`",
                example: "--cluster-state /etc/fedns/cluster.yaml"),
        FlagDoc("--kubeconfig", value: "path", meaning: "the Kubernetes API source with this kubeconfig; sets `source.kubeconfig` and `source.type: kubernetes`",
                example: "--kubeconfig ~/.kube/config"),
        FlagDoc("--context", value: "string", meaning: "sets `source.context`", example: "--context prod"),
        FlagDoc("--in-cluster", value: "none",
                meaning: "the Kubernetes API source with the pod's service account (token re-read as it rotates, CA, `KUBERNETES_SERVICE_HOST`/`PORT`); sets `source.type: kubernetes`",
                example: "--in-cluster"),
        FlagDoc("--kube-dns-config-dir", value: "directory", meaning: "the kube-dns ConfigMap keys, re-read when they change",
                example: "--kube-dns-config-dir /etc/kube-dns"),
        FlagDoc("--listen", value: "`HOST[:PORT]`, repeatable", meaning: "sets `listen`", example: "--listen 127.0.0.1:5353"),
        FlagDoc("--upstream", value: "`HOST[:PORT]`, repeatable", meaning: "sets `upstreams`", example: "--upstream 10.0.0.10"),
        FlagDoc("--node-name", value: "string", meaning: "sets `nodeName`", example: "--node-name node-1"),
        FlagDoc("--node-setup", value: "none; `--no-node-setup` or `--node-setup=false` turns it off",
                meaning: "sets `nodeSetup.enabled`: the dummy interface and NOTRACK rules of node-local mode", example: "--node-setup"),
        FlagDoc("--handoff-socket", value: "path", meaning: "sets `handoffSocket`: take over from the fedns serving there, listen there for the next",
                example: "--handoff-socket /run/fedns/handoff.sock"),
        FlagDoc("--demo", value: "none", meaning: "serve the embedded demo cluster on 127.0.0.1:5353 (other flags still apply)", example: "--demo"),
    ]
}
