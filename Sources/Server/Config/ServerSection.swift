import Resolver
import YAMLReader

/// The server's own keys: where it listens, who may ask, how it runs. Handler settings are read by
/// the handlers' own sections (`Sources/Resolver/<Handler>/<Handler>Config.swift`).
extension FednsConfig {
    static let serverKeys = [
        "mode", "listen", "nodeName", "allowedNetworks", "identity", "lameduck", "log", "metrics", "health", "ready", "source", "tcp",
        "receiveBuffer",
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
            try value.mapping(known: ["level"])
            if let v = try value["level"].string() {
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) else {
                    throw value["level"].fail("must be trace, debug, info, notice, warning, error or critical")
                }
                logLevel = v
            }
        case "metrics", "health", "ready":
            try value.mapping(known: ["listen"])
            guard let text = try value["listen"].string() else { return }
            let setting: AdminListen = text.isEmpty ? .off : .at(try Self.hostPort(value["listen"], defaultPort: 0))
            switch key {
            case "metrics": metrics = setting
            case "health": health = setting
            default: ready = setting
            }
        case "tcp":
            try value.mapping(known: ["maxConnections", "idleTimeout", "clientShare"])
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
        default:  // source
            try value.mapping(known: ["type", "file"])
            if let v = try value["type"].string() {
                guard v == "file" || v == "kubernetes" else { throw value["type"].fail("must be file or kubernetes") }
                sourceType = v
            }
            clusterStateFile = try value["file"].string() ?? clusterStateFile
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
