import NameExpansion
import NodeSetup
import Resolver
import YAMLReader

/// Where fedns runs (docs/configuration.md).
public enum Mode: String, Sendable, CaseIterable {
    case nodeLocal = "node-local"
    case sidecar
}

/// A `HOST:PORT` to listen on or send to. IPv6 hosts are written `[::1]:53`.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }

    /// Parses `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address; the host must be an IP address.
    public init?(parsing text: String, defaultPort: Int) {
        guard case .success(let parsed) = AddressAndPort.parse(text, defaultPort: UInt16(defaultPort)) else { return nil }
        self.host = parsed.host
        self.port = Int(parsed.port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// An admin HTTP listener (`metrics`, `health`, `ready`): the mode's default, off, or an address.
public enum AdminListen: Hashable, Sendable {
    case modeDefault
    case off
    case at(HostPort)
}

/// The whole configuration, after precedence has been applied (docs/configuration.md): the server's own keys,
/// and one section per handler, each read and checked by its owner in the handler's folder.
public struct FednsConfig: Sendable {
    // The server's own keys (read in `ServerSection.swift`).
    public var mode: Mode = .nodeLocal
    /// Empty means the mode's default (node-local `169.254.20.10:53`, sidecar `127.0.0.1:53`).
    public var listen: [HostPort] = []
    public var nodeName: String?
    public var allowedNetworks: [CIDR] = CIDR.defaultAllowed
    /// The name CH TXT `id.server.` answers with; nil turns identity queries off (REFUSED).
    public var identity: String?
    public var lameduckSeconds: Double = 5
    public var tcp = TCPSettings()
    public var logLevel = "info"
    public var metrics = AdminListen.modeDefault
    public var health = AdminListen.modeDefault
    public var ready = AdminListen.modeDefault
    /// `file` or `kubernetes`.
    public var sourceType = "file"
    public var clusterStateFile: String?
    /// The kubernetes source's settings (`source.kubeconfig`, `source.context`, `source.bookmarkInterval`).
    public var kube = KubeSourceSettings()
    /// SO_RCVBUF of each UDP listener socket. 4 MiB (as Unbound's recommended `so-rcvbuf: 4m`) queues
    /// thousands of queries, a few hundred ms at 15,000 q/s, where Linux's 208 KiB default holds ~10 ms.
    public var receiveBufferBytes = 4 << 20
    /// The dummy interface and conntrack-skipping rules of node-local mode (`nodeSetup`, `--node-setup`).
    public var nodeSetup = NodeSetupSettings()
    /// The Unix socket where a running fedns hands its listening sockets to its successor (`handoffSocket`).
    public var handoffSocket: String?

    // The handlers' sections.
    /// `clusterDomain`, `ttl`, `pods`: the cluster zone owns the settings other handlers read too.
    public var clusterZone = ClusterZoneConfig()
    /// `federations`, `zonalNameFormat`, `zone`, `region`.
    public var federation = FederationConfig()
    /// `searchPath`.
    public var searchPath = SearchPathConfig()
    /// `zones`.
    public var localZones = LocalZonesConfig()
    /// `cache`.
    public var cache = CacheConfig()
    /// `upstreams`, `upstreamResolvConf`, `stubDomains`, `forward`.
    public var forward = ForwardConfig()

    /// Where each key was written, for errors found after reading.
    public var locations = ConfigLocations()

    public init() {}

    /// The listen addresses in force.
    public var effectiveListen: [HostPort] {
        if !listen.isEmpty { return listen }
        return [mode == .nodeLocal ? HostPort(host: "169.254.20.10", port: 53) : HostPort(host: "127.0.0.1", port: 53)]
    }

    /// Where each admin endpoint listens, with the defaults of docs/configuration.md: as CoreDNS in sidecar
    /// mode (`:8080` health, `:8181` ready, `:9153` metrics); with hostNetwork in node-local mode as
    /// NodeLocal DNSCache does (health and ready on the link-local listen address, metrics `:9253`).
    public var effectiveHealth: HostPort? { resolve(health, port: 8080, nodeLocalOnListenAddress: true) }
    public var effectiveReady: HostPort? { resolve(ready, port: 8181, nodeLocalOnListenAddress: true) }
    public var effectiveMetrics: HostPort? { resolve(metrics, port: mode == .nodeLocal ? 9253 : 9153, nodeLocalOnListenAddress: false) }

    private func resolve(_ setting: AdminListen, port: Int, nodeLocalOnListenAddress: Bool) -> HostPort? {
        switch setting {
        case .off: return nil
        case .at(let address): return address
        case .modeDefault:
            let host = mode == .nodeLocal && nodeLocalOnListenAddress ? effectiveListen[0].host : "0.0.0.0"
            return HostPort(host: host, port: port)
        }
    }

    /// The server-side search path is on by default in sidecar mode only (docs/behaviour.md, the search path).
    public var searchPathOn: Bool { searchPath.enabled ?? (mode == .sidecar) }
}

/// How the Kubernetes API source connects (docs/configuration.md, `source`).
public struct KubeSourceSettings: Equatable, Sendable {
    /// The kubeconfig; nil means in-cluster credentials (the pod's service account).
    public var kubeconfig: String?
    /// The kubeconfig's context; nil means its `current-context`.
    public var context: String?
    /// How often the API server sends bookmarks; a watch silent for twice this is restarted.
    public var bookmarkIntervalSeconds: Double = 60
    public init() {}
}

/// An IP network in CIDR notation.
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, var bytes = IPAddress.v4Bytes(String(parts[0])) ?? IPAddress.v6Bytes(String(parts[0])) else { return nil }
        guard var len = parts.count == 2 ? Int(parts[1]) : bytes.count * 8, (0...(bytes.count * 8)).contains(len) else { return nil }
        // IPv4-mapped (::ffff:a.b.c.d/96+) is IPv4: mapped clients are judged as the IPv4 clients they are.
        if bytes.count == 16, len >= 96, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12..<16])
            len -= 96
        }
        self.network = CIDR.mask(bytes, len)
        self.prefixLength = len
    }

    public func contains(_ address: [UInt8]) -> Bool {
        address.count == network.count && CIDR.mask(address, prefixLength) == network
    }

    public var description: String { "\(IPAddress.text(network) ?? "?")/\(prefixLength)" }

    static func mask(_ bytes: [UInt8], _ len: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let bits = max(0, min(8, len - i * 8))
            return bits == 8 ? b : b & ~UInt8(truncatingIfNeeded: 0xff >> bits)
        }
    }

    /// Loopback, link-local, RFC 1918, CGNAT, ULA (docs/behaviour.md, the gate).
    public static let defaultAllowed: [CIDR] = [
        "127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
        "::1/128", "fc00::/7", "fe80::/10",
    ].compactMap(CIDR.init)
}

/// The TCP connection table (RFC 7766 §6.2.3): its size, the idle timeout while it is at most half
/// full (shorter as it fills), and the share of it one client address may hold.
public struct TCPSettings: Equatable, Sendable {
    public var maxConnections = 1024
    public var idleTimeoutSeconds: Double = 10
    public var clientShare = 0.25
    public init() {}
}
