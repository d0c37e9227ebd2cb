import Clocks
import Foundation
import KubernetesSource
import Logging
import Testing
import YAMLReader

/// A fresh directory, removed on deinit.
final class Scratch {
    let path: String
    init() throws {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("fedns-kube-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

let caPEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nMHcfake\n-----END EC PRIVATE KEY-----\n"
func base64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

/// A kubeconfig with two contexts; `cluster` and `user` are the YAML of the first context's entries.
func kubeconfig(cluster: String, user: String, current: String = "a") -> String {
    """
    apiVersion: v1
    kind: Config
    current-context: \(current)
    contexts:
    - name: a
      context: {cluster: c1, user: u1}
    - name: b
      context: {cluster: c2, user: u2}
    clusters:
    - name: c1
      cluster:
    \(cluster.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    - name: c2
      cluster: {server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true}
    users:
    - name: u1
      user:
    \(user.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
    - name: u2
      user: {token: second}
    """
}

@Suite struct KubeconfigTests {
    @Test func currentContextWithEmbeddedCAAndToken() throws {
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443/\ncertificate-authority-data: \(base64(caPEM))",
                              user: "token: s3cret")
        let e = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/nowhere", context: nil)
        #expect(e.server == "https://127.0.0.1:6443")
        #expect(e.tls.caPEM == Array(caPEM.utf8))
        #expect(!e.tls.insecureSkipVerify)
        #expect(e.auth == .token("s3cret"))
        #expect(e.origin == "kubeconfig kc, context a")
    }

    @Test func aNamedContextWinsOverTheCurrentOne() throws {
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443", user: "token: x")
        let e = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/nowhere", context: "b")
        #expect(e.server == "https://10.0.0.2:6443")
        #expect(e.tls.insecureSkipVerify)
        #expect(e.tls.caPEM == nil)
        #expect(e.auth == .token("second"))
    }

    @Test func filesAreRelativeToTheKubeconfigsDirectory() throws {
        let dir = try Scratch()
        try dir.write("pki/ca.crt", caPEM)
        try dir.write("pki/client.crt", caPEM)
        try dir.write("pki/client.key", keyPEM)
        let tokenFile = try dir.write("token", "abc\n")
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443\ncertificate-authority: pki/ca.crt",
                              user: "client-certificate: pki/client.crt\nclient-key: \(dir.path)/pki/client.key\ntokenFile: token")
        let path = try dir.write("config", text)
        let e = try Kubeconfig.endpoint(path: path, context: nil)
        #expect(e.tls.caPEM == Array(caPEM.utf8))
        #expect(e.tls.clientCertificatePEM == Array(caPEM.utf8))
        #expect(e.tls.clientKeyPEM == Array(keyPEM.utf8))
        #expect(e.auth == .tokenFile(tokenFile))
    }

    @Test func embeddedClientCertificateAndKey() throws {
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443",
                              user: "client-certificate-data: \(base64(caPEM))\nclient-key-data: \(base64(keyPEM))")
        let e = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/", context: nil)
        #expect(e.tls.clientCertificatePEM == Array(caPEM.utf8))
        #expect(e.tls.clientKeyPEM == Array(keyPEM.utf8))
        #expect(e.auth == .none)
    }

    /// Each broken kubeconfig names the field at fault, and its line.
    @Test(arguments: [
        ("server: https://127.0.0.1:6443\ncertificate-authority-data: '%%%'", "token: x", nil, "clusters[0].cluster.certificate-authority-data", "is not base64"),
        ("server: https://127.0.0.1:6443\ncertificate-authority-data: \(base64("hello"))", "token: x", nil,
         "clusters[0].cluster.certificate-authority-data", "is not PEM"),
        ("server: https://127.0.0.1:6443\ncertificate-authority: missing.crt", "token: x", nil, "clusters[0].cluster.certificate-authority",
         "cannot read '/nowhere/missing.crt'"),
        ("certificate-authority-data: x", "token: x", nil, "clusters[0].cluster.server", "is required"),
        ("server: 'not a url'", "token: x", nil, "clusters[0].cluster.server", "is not a URL"),
        ("server: https://127.0.0.1:6443\ninsecure-skip-tls-verify: 'yes'", "token: x", nil, "clusters[0].cluster.insecure-skip-tls-verify",
         "must be true or false"),
        ("server: https://127.0.0.1:6443", "client-certificate-data: \(base64(caPEM))", nil, "users[0].user.client-key", "needs both"),
        ("server: https://127.0.0.1:6443", "tokenFile: nope", nil, "users[0].user.tokenFile", "cannot read '/nowhere/nope'"),
        ("server: https://127.0.0.1:6443", "exec: {command: aws}", nil, "users[0].user.exec", "is not supported"),
        ("server: https://127.0.0.1:6443", "token: x", "zzz", "contexts", "no context named 'zzz'"),
    ] as [(String, String, String?, String, String)])
    func errorsNameTheField(cluster: String, user: String, context: String?, field: String, problem: String) {
        let text = kubeconfig(cluster: cluster, user: user)
        #expect {
            _ = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/nowhere", context: context)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.field == field && e.problem.contains(problem) && e.file == "kc" && e.line != nil
        }
    }

    @Test func aMissingCurrentContextAsksForOne() {
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443", user: "token: x", current: "''")
        #expect {
            _ = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/", context: nil)
        } throws: { ($0 as? ConfigError)?.field == "current-context" }
    }

    @Test func aContextNamingAnUnknownClusterSaysSo() {
        let text = kubeconfig(cluster: "server: https://127.0.0.1:6443", user: "token: x").replacingOccurrences(of: "cluster: c1,", with: "cluster: c9,")
        #expect {
            _ = try Kubeconfig.endpoint(yaml: text, file: "kc", directory: "/", context: nil)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.field == "contexts[0].context.cluster" && e.problem.contains("no cluster named 'c9'")
        }
    }
}

@Suite struct InClusterTests {
    @Test func readsTheEnvironmentAndTheServiceAccountDirectory() throws {
        let dir = try Scratch()
        let token = try dir.write("token", "t1")
        try dir.write("ca.crt", caPEM)
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "FEDNS_SERVICEACCOUNT_DIR": dir.path]
        let e = try InClusterCredentials.endpoint(environment: env)
        #expect(e.server == "https://10.96.0.1:443")
        #expect(e.auth == .tokenFile(token))
        #expect(e.tls.caPEM == Array(caPEM.utf8))
        let v6 = try InClusterCredentials.endpoint(environment: env.merging(["KUBERNETES_SERVICE_HOST": "fd00::1"]) { $1 })
        #expect(v6.server == "https://[fd00::1]:443")
    }

    @Test func outsideAPodItSaysWhy() throws {
        #expect {
            _ = try InClusterCredentials.endpoint(environment: [:])
        } throws: { ($0 as? ConfigError)?.problem.contains("KUBERNETES_SERVICE_HOST") == true }
        let dir = try Scratch()
        #expect {
            _ = try InClusterCredentials.endpoint(environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                                                                "FEDNS_SERVICEACCOUNT_DIR": dir.path])
        } throws: { ($0 as? ConfigError)?.problem.contains("token") == true }
    }
}

@Suite struct TokenReloaderTests {
    @Test func aRotatedTokenFileIsReadAtTheNextCheck() async throws {
        let dir = try Scratch()
        let path = try dir.write("token", "first\n")
        let clock = ManualClock()
        let reloader = TokenReloader(authentication: .tokenFile(path), time: clock, logger: Logger(label: "test"), checkInterval: .seconds(60))
        #expect(reloader.token == "first")
        let running = Task { try await reloader.run() }
        defer { running.cancel() }
        try await waitUntil { clock.sleeperCount == 1 }
        // The kubelet swaps the projected file; nothing is read until the next check.
        try dir.write("token", "second\n")
        clock.advance(seconds: 30)
        #expect(reloader.token == "first")
        clock.advance(seconds: 30)
        try await waitUntil { reloader.token == "second" }
        #expect(reloader.reloads == 1)
    }

    @Test func a401ReadsTheFileAtOnceAndAnUnreadableFileKeepsTheLastToken() throws {
        let dir = try Scratch()
        let path = try dir.write("token", "first")
        let reloader = TokenReloader(authentication: .tokenFile(path), time: ManualClock(), logger: Logger(label: "test"))
        try dir.write("token", "second")
        #expect(reloader.reloadNow())
        #expect(reloader.token == "second")
        #expect(!reloader.reloadNow())  // unchanged
        try FileManager.default.removeItem(atPath: path)
        #expect(!reloader.reloadNow())
        #expect(reloader.token == "second")
        try dir.write("token", "")
        #expect(!reloader.reloadNow())
        #expect(reloader.token == "second")
    }

    @Test func aFixedTokenNeverChanges() {
        let reloader = TokenReloader(authentication: .token("abc"), time: ManualClock(), logger: Logger(label: "test"))
        #expect(reloader.token == "abc")
        #expect(!reloader.reloadNow())
        #expect(TokenReloader(authentication: .none, time: ManualClock(), logger: Logger(label: "test")).token == nil)
    }
}

/// Polls `condition` for up to 30 seconds of real time (what it waits for must happen; a loaded test
/// process has been seen taking more than 5 s to get there).
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    if await !SystemTimeSource.poll(within: 30, until: condition) { Issue.record("condition not met within 30 s") }
}
