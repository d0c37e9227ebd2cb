import Foundation
import YAMLReader

/// Where the API server is and how to prove who we are: from a kubeconfig or from the pod's
/// service account (in-cluster).
public struct APIEndpoint: Sendable, Equatable {
    /// `https://HOST:PORT` with an optional path prefix (no trailing slash).
    public var server: String
    public var tls: TLSMaterial
    public var auth: Authentication
    /// Where the settings came from, for logs (`kubeconfig ~/.kube/config, context kind-a`, `in-cluster`).
    public var origin: String

    public init(server: String, tls: TLSMaterial, auth: Authentication, origin: String) {
        self.server = server; self.tls = tls; self.auth = auth; self.origin = origin
    }
}

/// The TLS side of the credentials, as PEM bytes (files are read when the endpoint is built).
public struct TLSMaterial: Sendable, Equatable {
    /// Trust these CAs instead of the system's; nil means the system's trust store.
    public var caPEM: [UInt8]?
    /// `insecure-skip-tls-verify`: no certificate check at all.
    public var insecureSkipVerify = false
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public init(caPEM: [UInt8]? = nil, insecureSkipVerify: Bool = false, clientCertificatePEM: [UInt8]? = nil,
                clientKeyPEM: [UInt8]? = nil) {
        self.caPEM = caPEM; self.insecureSkipVerify = insecureSkipVerify
        self.clientCertificatePEM = clientCertificatePEM; self.clientKeyPEM = clientKeyPEM
    }
}

/// How each request is authenticated besides a client certificate.
public enum Authentication: Sendable, Equatable {
    case none
    /// A fixed bearer token (kubeconfig `token`).
    case token(String)
    /// A bearer token read from a file and re-read as it rotates (kubeconfig `tokenFile`, the
    /// projected service-account token).
    case tokenFile(String)
}

/// The in-cluster settings a pod sees (client-go's `rest.InClusterConfig`).
public enum InClusterCredentials {
    /// The service account directory; `FEDNS_SERVICEACCOUNT_DIR` replaces it, for tests only.
    public static let defaultDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    public static func endpoint(environment: [String: String]) throws(ConfigError) -> APIEndpoint {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw ConfigError(field: "--in-cluster",
                              problem: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: fedns is not running in a pod")
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw ConfigError(field: "KUBERNETES_SERVICE_PORT", problem: "'\(port)' is not a port number")
        }
        let dir = environment["FEDNS_SERVICEACCOUNT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultDirectory
        let tokenPath = (dir as NSString).appendingPathComponent("token")
        let caPath = (dir as NSString).appendingPathComponent("ca.crt")
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw ConfigError(field: "--in-cluster", problem: "cannot read the service account token '\(tokenPath)'")
        }
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw ConfigError(field: "--in-cluster", problem: "cannot read the service account CA '\(caPath)'")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return APIEndpoint(server: "https://\(hostPart):\(portNumber)", tls: TLSMaterial(caPEM: Array(ca)),
                           auth: .tokenFile(tokenPath), origin: "in-cluster (\(dir))")
    }
}

/// Reads a kubeconfig (`~/.kube/config`): the current context or a named one, its cluster and user.
/// Relative paths are relative to the kubeconfig's directory, as kubectl reads them. Every error names
/// the file, the line and the field (`kubeconfig:7: users[0].user.client-key: cannot read 'key.pem'`).
public enum Kubeconfig {
    public static func endpoint(path: String, context: String?) throws(ConfigError) -> APIEndpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(field: "--kubeconfig", problem: "cannot read '\(path)'")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try endpoint(yaml: String(decoding: data, as: UTF8.self), file: path, directory: directory, context: context)
    }

    /// - Parameter directory: what relative paths are relative to.
    public static func endpoint(yaml text: String, file: String?, directory: String, context: String?) throws(ConfigError) -> APIEndpoint {
        let root = try YAMLField.document(text, file: file)
        guard root.isMapping else { throw root.fail("a kubeconfig must be a mapping (apiVersion: v1, kind: Config)") }
        if let kind = try root["kind"].string(), kind != "Config" { throw root["kind"].fail("must be Config, not '\(kind)'") }

        let contextName: String
        let contextField: YAMLField
        if let context {
            contextName = context
            contextField = root["contexts"]
        } else {
            guard let current = try root["current-context"].string(), !current.isEmpty else {
                throw root["current-context"].fail("is not set; name a context with --context or source.context")
            }
            contextName = current
            contextField = root["current-context"]
        }
        let ctx = try named(root["contexts"], contextName, what: "context", from: contextField)["context"]
        guard ctx.isMapping else { throw ctx.fail("must be a mapping with cluster and user") }
        let clusterName = try ctx["cluster"].requiredString()
        let cluster = try named(root["clusters"], clusterName, what: "cluster", from: ctx["cluster"])["cluster"]
        guard cluster.isMapping else { throw cluster.fail("must be a mapping with server") }

        let server = try cluster["server"].requiredString()
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), url.host != nil else {
            throw cluster["server"].fail("'\(server)' is not a URL (https://HOST:PORT)")
        }
        guard scheme == "https" || scheme == "http" else {
            throw cluster["server"].fail("'\(server)' must be an https:// URL")
        }
        var tls = TLSMaterial()
        tls.insecureSkipVerify = try cluster["insecure-skip-tls-verify"].bool() ?? false
        tls.caPEM = try pem(cluster, data: "certificate-authority-data", file: "certificate-authority", directory: directory)

        var auth = Authentication.none
        if let userName = try ctx["user"].string(), !userName.isEmpty {
            let user = try named(root["users"], userName, what: "user", from: ctx["user"])["user"]
            if !user.isAbsent, !user.isMapping { throw user.fail("must be a mapping") }
            tls.clientCertificatePEM = try pem(user, data: "client-certificate-data", file: "client-certificate", directory: directory)
            tls.clientKeyPEM = try pem(user, data: "client-key-data", file: "client-key", directory: directory)
            if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
                let missing = tls.clientKeyPEM == nil ? user["client-key"] : user["client-certificate"]
                throw missing.fail("a client certificate needs both client-certificate(-data) and client-key(-data)")
            }
            if let token = try user["token"].string(), !token.isEmpty {
                auth = .token(token)
            } else if let tokenFile = try user["tokenFile"].string(), !tokenFile.isEmpty {
                let resolved = resolve(tokenFile, directory)
                guard FileManager.default.isReadableFile(atPath: resolved) else {
                    throw user["tokenFile"].fail("cannot read '\(resolved)'")
                }
                auth = .tokenFile(resolved)
            }
            for unsupported in ["exec", "auth-provider", "username"] where !user[unsupported].isAbsent {
                throw user[unsupported].fail("is not supported by fedns; use a token, tokenFile or a client certificate")
            }
        }
        let origin = "kubeconfig \(file ?? "-"), context \(contextName)"
        return APIEndpoint(server: server.hasSuffix("/") ? String(server.dropLast()) : server, tls: tls, auth: auth, origin: origin)
    }

    /// The entry of `list` (`clusters`, `users`, `contexts`) whose `name` is `name`.
    private static func named(_ list: YAMLField, _ name: String, what: String, from reference: YAMLField) throws(ConfigError) -> YAMLField {
        for item in try list.items() {
            if try item["name"].string() == name { return item }
        }
        throw reference.fail("no \(what) named '\(name)' in \(list.path)")
    }

    /// PEM bytes from `<data>` (base64) or the file `<file>`; nil when neither is set.
    private static func pem(_ owner: YAMLField, data dataKey: String, file fileKey: String, directory: String) throws(ConfigError) -> [UInt8]? {
        if let encoded = try owner[dataKey].string(), !encoded.isEmpty {
            guard let decoded = Data(base64Encoded: encoded.filter { !$0.isWhitespace }) else {
                throw owner[dataKey].fail("is not base64")
            }
            guard String(decoding: decoded, as: UTF8.self).contains("-----BEGIN") else {
                throw owner[dataKey].fail("is not PEM once decoded (no -----BEGIN line)")
            }
            return Array(decoded)
        }
        if let path = try owner[fileKey].string(), !path.isEmpty {
            let resolved = resolve(path, directory)
            guard let contents = FileManager.default.contents(atPath: resolved) else {
                throw owner[fileKey].fail("cannot read '\(resolved)'")
            }
            return Array(contents)
        }
        return nil
    }

    private static func resolve(_ path: String, _ directory: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            return (home as NSString).appendingPathComponent(String(path.dropFirst(2)))
        }
        return (directory as NSString).appendingPathComponent(path)
    }
}
