import Resolver
import YAMLReader

/// The server's own keys: where it listens, who may ask, how it runs. Handler settings are read by
/// the handlers' own sections (`Sources/Resolver/<Handler>/<Handler>Config.swift`).
extension FednsConfig {
    static let serverKeys = [
        "mode", "listen", "nodeName", "allowedNetworks", "identity", "lameduck", "log", "metrics", "health", "ready", "source", "tcp",
        "receiveBuffer", "nodeSetup", "handoffSocket",
    ]

    /// The server's keys as docs/configuration.md lists them.
    public static let serverReference: [ConfigKeyDoc] = [
        ConfigKeyDoc("mode", type: "string", default: "`node-local`", valid: "`node-local`, `sidecar`",
                     meaning: "a DaemonSet on every node, or a sidecar beside a workload: sets the defaults of `listen`, the admin endpoints and `searchPath.enabled`",
                     example: "mode: sidecar"),
        ConfigKeyDoc("listen", type: "list of `HOST[:PORT]`", default: "node-local `169.254.20.10:53`, sidecar `127.0.0.1:53`",
                     valid: "IP addresses (`[V6]:PORT`), port 53 by default", meaning: "where fedns serves DNS, over UDP and TCP on each",
                     example: #"listen: ["169.254.20.10:53", "10.0.0.10:53"]"#),
        ConfigKeyDoc("nodeName", type: "string", default: "unset; the `NODE_NAME` environment variable sets it", valid: "a Node name",
                     meaning: "the own Node, whose labels give the zone and region", example: "nodeName: node-1"),
        ConfigKeyDoc("allowedNetworks", type: "list of CIDR", default: "127.0.0.0/8, 169.254.0.0/16, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, ::1/128, fc00::/7, fe80::/10",
                     valid: "IPv4 or IPv6 networks; an IPv4-mapped client address counts as IPv4",
                     meaning: "clients outside every network get REFUSED: fedns is not an open resolver",
                     example: #"allowedNetworks: ["10.0.0.0/8"]"#),
        ConfigKeyDoc("identity", type: "boolean or string", default: "`false`", valid: "`true` (reports `fedns`), `false`, or the name to report",
                     meaning: "answer CH TXT `id.server.` and `hostname.bind.` (RFC 4892); off, they get REFUSED",
                     example: "identity: node-1"),
        ConfigKeyDoc("lameduck", type: "seconds", default: "`5`", valid: "0…300",
                     meaning: "after SIGTERM, `/ready` answers 503 while DNS is still served for this long, then fedns drains and exits 0",
                     example: "lameduck: 10"),
        ConfigKeyDoc("log.level", type: "string", default: "`info`", valid: "`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`",
                     meaning: "the lowest level logged (swift-log)", example: "log: {level: debug}"),
        ConfigKeyDoc("receiveBuffer", type: "integer, bytes", default: "`4194304`", valid: "4096…1073741824",
                     meaning: "SO_RCVBUF of each UDP listener socket (SO_RCVBUFFORCE when permitted); 4 MiB queues a few hundred ms at 15,000 q/s where Linux's 208 KiB default holds about 10 ms; a kernel cap is logged, overflow counted in `fedns_dns_socket_drops_total`",
                     example: "receiveBuffer: 8388608"),
        ConfigKeyDoc("tcp.maxConnections", type: "integer", default: "`1024`", valid: "at least 1",
                     meaning: "open TCP connections at most; when full, the longest-idle connection is closed to admit a new one (RFC 7766 §6.2.3), never one with a query in flight",
                     example: "tcp: {maxConnections: 4096}"),
        ConfigKeyDoc("tcp.idleTimeout", type: "seconds", default: "`10`", valid: "more than 0, at most 300",
                     meaning: "idle time before a connection is closed while the table is at most half full; shorter as it fills, 1% of it when full",
                     example: "tcp: {idleTimeout: 30}"),
        ConfigKeyDoc("tcp.clientShare", type: "number", default: "`0.25`", valid: "more than 0, at most 1",
                     meaning: "the share of `tcp.maxConnections` one client address may hold; in sidecar mode every client is the pod on loopback: raise it to 1",
                     example: "tcp: {clientShare: 1}"),
        ConfigKeyDoc("metrics.listen", type: "`HOST:PORT` or empty", default: "sidecar `0.0.0.0:9153` (CoreDNS), node-local `0.0.0.0:9253` (NodeLocal DNSCache)",
                     valid: "an IP address and port; `\"\"` turns it off", meaning: "Prometheus metrics at `/metrics`",
                     example: #"metrics: {listen: "0.0.0.0:9153"}"#),
        ConfigKeyDoc("health.listen", type: "`HOST:PORT` or empty", default: "sidecar `0.0.0.0:8080`, node-local the first listen address, port 8080",
                     valid: "an IP address and port; `\"\"` turns it off", meaning: "liveness at `/health`: 200 while the process serves",
                     example: #"health: {listen: "169.254.20.10:8080"}"#),
        ConfigKeyDoc("ready.listen", type: "`HOST:PORT` or empty", default: "sidecar `0.0.0.0:8181`, node-local the first listen address, port 8181",
                     valid: "an IP address and port; `\"\"` turns it off", meaning: "readiness at `/ready`: 503 until the first cluster sync and during lameduck",
                     example: #"ready: {listen: "169.254.20.10:8181"}"#),
        ConfigKeyDoc("nodeSetup.enabled", type: "boolean", default: "`false` (the node-local overlay turns it on with `--node-setup`)", valid: "`true`, `false`; only in node-local mode",
                     meaning: "at start, put the listen addresses no interface holds on a dummy interface and install iptables rules that let DNS to and from them skip connection tracking (raw NOTRACK, filter ACCEPT), as NodeLocal DNSCache does; re-checked every `checkInterval`, removed on exit. Needs CAP_NET_ADMIN and `iptables` (nft backend)",
                     example: "nodeSetup: {enabled: true}"),
        ConfigKeyDoc("nodeSetup.interface", type: "string", default: "`nodelocaldns`", valid: "an interface name, at most 15 bytes",
                     meaning: "the dummy interface holding the listen addresses", example: "nodeSetup: {enabled: true, interface: nodelocaldns}"),
        ConfigKeyDoc("nodeSetup.keepOnExit", type: "boolean", default: "`false`", valid: "`true`, `false`",
                     meaning: "leave the interface and the rules in place on exit (a hand-over to a successor always leaves them)",
                     example: "nodeSetup: {enabled: true, keepOnExit: true}"),
        ConfigKeyDoc("nodeSetup.checkInterval", type: "seconds", default: "`60`", valid: "1…3600",
                     meaning: "how often the interface, its addresses and the rules are checked; what was removed is put back and logged",
                     example: "nodeSetup: {enabled: true, checkInterval: 30}"),
        ConfigKeyDoc("nodeSetup.iptables", type: "path or name", default: "`iptables`", valid: "an executable (searched on PATH)",
                     meaning: "the iptables binary for IPv4 rules", example: "nodeSetup: {iptables: /usr/sbin/iptables-nft}"),
        ConfigKeyDoc("nodeSetup.ip6tables", type: "path or name", default: "`ip6tables`", valid: "an executable (searched on PATH)",
                     meaning: "the ip6tables binary for IPv6 listen addresses", example: "nodeSetup: {ip6tables: /usr/sbin/ip6tables-nft}"),
        ConfigKeyDoc("handoffSocket", type: "path", default: "unset: no hand-over", valid: "a Unix socket path (at most 107 bytes) on a volume both the old and the new process see",
                     meaning: "upgrades without loss: a starting fedns takes the listening sockets of the one serving at this path, and listens there for its own successor (docs/operating.md, Upgrades); `--handoff-socket` sets it",
                     example: "handoffSocket: /run/fedns/handoff.sock"),
        ConfigKeyDoc("source.type", type: "string", default: "`file`", valid: "`file`, `kubernetes`",
                     meaning: "where the cluster state comes from: a file of objects, or the Kubernetes API (list and watch); `--cluster-state`, `--kubeconfig` and `--in-cluster` set it",
                     example: "source: {type: kubernetes}"),
        ConfigKeyDoc("source.kubeconfig", type: "path", default: "unset: in-cluster credentials (the pod's service account token and CA, `KUBERNETES_SERVICE_HOST`/`PORT`)",
                     valid: "a kubeconfig file (token, tokenFile, client certificate; CA data or file; `insecure-skip-tls-verify`); relative paths in it are relative to its directory",
                     meaning: "the kubernetes source's credentials and server; `--kubeconfig` sets it",
                     example: "source: {type: kubernetes, kubeconfig: /etc/fedns/kubeconfig}"),
        ConfigKeyDoc("source.context", type: "string", default: "unset: the kubeconfig's `current-context`", valid: "a context of the kubeconfig",
                     meaning: "the kubeconfig context to use; `--context` sets it",
                     example: "source: {type: kubernetes, kubeconfig: /etc/fedns/kubeconfig, context: prod}"),
        ConfigKeyDoc("source.bookmarkInterval", type: "seconds", default: "`60` (the API server's bookmark period)", valid: "1…3600",
                     meaning: "how often the API server sends watch bookmarks; a watch silent for twice this long is restarted",
                     example: "source: {type: kubernetes, bookmarkInterval: 60}"),
        ConfigKeyDoc("source.file", type: "path", default: "unset; the `--cluster-state` flag sets it", valid: "a readable file of Kubernetes objects (YAML or JSON)",
                     meaning: "the file source's objects (Service, EndpointSlice, Node, Namespace, Pod), watched and reloaded within a second",
                     example: "source: {file: /etc/fedns/cluster.yaml}"),
    ]

    mutating func readServerKey(_ key: String, _ value: YAMLField) throws(ConfigError) {
        switch key {
        case "mode":
            let text = try value.requiredString()
            guard let m = Mode(rawValue: text) else { throw value.fail("must be node-local or sidecar, not '\(text)'") }
            mode = m
        case "listen":
            listen = try value.itemsOrOne().map { item throws(ConfigError) in try Self.hostPort(item, defaultPort: 53) }
        case "nodeName":
            nodeName = try value.string()
        case "allowedNetworks":
            allowedNetworks = try value.itemsOrOne().map { item throws(ConfigError) in
                let text = try item.requiredString()
                guard let n = CIDR(text) else { throw item.fail("'\(text)' is not a CIDR network") }
                return n
            }
        case "identity":
            if let on = try? value.bool() {
                identity = on ? "fedns" : nil
            } else {
                guard value.isScalar, let name = try value.string() else { throw value.fail("must be true, false or the name to report") }
                identity = name.isEmpty ? nil : name
            }
        case "lameduck":
            guard let v = try value.seconds(), (0...300).contains(v) else { throw value.fail("must be between 0 and 300 seconds") }
            lameduckSeconds = v
        case "log":
            try value.mapping(known: Self.serverReference.keys(inside: "log"))
            if let v = try value["level"].string() {
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                    throw value["level"].fail("must be trace, debug, info, notice, warning, error or critical")
                }
                logLevel = v
            }
        case "metrics", "health", "ready":
            try value.mapping(known: Self.serverReference.keys(inside: key))
            guard let text = try value["listen"].string() else { return }
            let setting: AdminListen = text.isEmpty ? .off : .at(try Self.hostPort(value["listen"], defaultPort: 0))
            switch key {
            case "metrics": metrics = setting
            case "health": health = setting
            default: ready = setting
            }
        case "tcp":
            try value.mapping(known: Self.serverReference.keys(inside: "tcp"))
            if let v = try value["maxConnections"].int() {
                guard v >= 1 else { throw value["maxConnections"].fail("must be at least 1") }
                tcp.maxConnections = v
            }
            if let v = try value["idleTimeout"].seconds() {
                guard v > 0, v <= 300 else { throw value["idleTimeout"].fail("must be more than 0 and at most 300 seconds") }
                tcp.idleTimeoutSeconds = v
            }
            if let v = try value["clientShare"].double() {
                guard v > 0, v <= 1 else { throw value["clientShare"].fail("must be more than 0 and at most 1 (a share of maxConnections)") }
                tcp.clientShare = v
            }
        case "receiveBuffer":
            receiveBufferBytes = try value.int(in: 4096...(1 << 30)) ?? receiveBufferBytes
        case "handoffSocket":
            handoffSocket = try value.string()
        case "nodeSetup":
            try value.mapping(known: Self.serverReference.keys(inside: "nodeSetup"))
            nodeSetup.enabled = try value["enabled"].bool() ?? nodeSetup.enabled
            if let v = try value["interface"].string() {
                guard !v.isEmpty, v.utf8.count <= 15, !v.contains("/"), !v.contains(where: \.isWhitespace) else {
                    throw value["interface"].fail("must be an interface name of 1 to 15 bytes without '/' or spaces")
                }
                nodeSetup.interface = v
            }
            nodeSetup.keepOnExit = try value["keepOnExit"].bool() ?? nodeSetup.keepOnExit
            if let v = try value["checkInterval"].seconds() {
                guard v >= 1, v <= 3600 else { throw value["checkInterval"].fail("must be between 1 and 3600 seconds") }
                nodeSetup.checkIntervalSeconds = v
            }
            nodeSetup.iptables = try value["iptables"].string() ?? nodeSetup.iptables
            nodeSetup.ip6tables = try value["ip6tables"].string() ?? nodeSetup.ip6tables
        default:  // source
            try value.mapping(known: Self.serverReference.keys(inside: "source"))
            if let v = try value["type"].string() {
                guard v == "file" || v == "kubernetes" else { throw value["type"].fail("must be file or kubernetes") }
                sourceType = v
            }
            clusterStateFile = try value["file"].string() ?? clusterStateFile
            kube.kubeconfig = try value["kubeconfig"].string() ?? kube.kubeconfig
            kube.context = try value["context"].string() ?? kube.context
            if let v = try value["bookmarkInterval"].seconds() {
                guard v >= 1, v <= 3600 else { throw value["bookmarkInterval"].fail("must be between 1 and 3600 seconds") }
                kube.bookmarkIntervalSeconds = v
            }
        }
    }

    static func hostPort(_ item: YAMLField, defaultPort: Int) throws(ConfigError) -> HostPort {
        let text = try item.requiredString()
        guard let hp = HostPort(parsing: text, defaultPort: defaultPort) else {
            throw item.fail("'\(text)' is not an IP address with an optional :port")
        }
        return hp
    }
}
