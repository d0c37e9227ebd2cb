import Foundation
import NodeSetup
import Testing
import YAMLReader
@testable import Server

@Suite struct NodeSetupConfigTests {
    @Test func nodeSetupAndHandoffAreRead() throws {
        let yaml = """
        nodeSetup: {enabled: true, interface: dns0, keepOnExit: true, checkInterval: 15s, iptables: /usr/sbin/iptables-nft}
        handoffSocket: /run/fedns/handoff.sock
        """
        let c = try ConfigLoader.apply(yaml: yaml, to: FednsConfig())
        var expected = NodeSetupSettings()
        expected.enabled = true
        expected.interface = "dns0"
        expected.keepOnExit = true
        expected.checkIntervalSeconds = 15
        expected.iptables = "/usr/sbin/iptables-nft"
        #expect(c.nodeSetup == expected)
        #expect(c.handoffSocket == "/run/fedns/handoff.sock")
    }

    @Test(arguments: [
        ("nodeSetup: {interface: a-name-longer-than-15}", "nodeSetup.interface"),
        ("nodeSetup: {interface: \"eth 0\"}", "nodeSetup.interface"),
        ("nodeSetup: {checkInterval: 0}", "nodeSetup.checkInterval"),
        ("nodeSetup: {enabled: maybe}", "nodeSetup.enabled"),
        ("nodeSetup: {keepOnExit: true, extra: 1}", "nodeSetup.extra"),
    ])
    func badNodeSetupNamesTheField(yaml: String, field: String) {
        #expect {
            _ = try ConfigLoader.apply(yaml: yaml, file: "fedns.yaml", to: FednsConfig())
        } throws: { error in
            (error as? ConfigError)?.field == field && "\(error)".hasPrefix("fedns.yaml:1: \(field): ")
        }
    }

    /// The flags win over the file, and `--node-setup` is refused in sidecar mode (a sidecar shares its pod's network).
    @Test func flagsSetNodeSetupAndSidecarRefusesIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-nodesetup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("fedns.yaml")
        try "nodeSetup: {enabled: true}\nsource: {file: /dev/null}\n".write(to: file, atomically: true, encoding: .utf8)
        var flags = CommandLineSettings()
        flags.configFile = file.path
        flags.nodeSetup = false
        flags.handoffSocket = "/run/x.sock"
        let c = try ConfigResolver.resolve(flags, environment: [:])
        #expect(!c.nodeSetup.enabled)
        #expect(c.handoffSocket == "/run/x.sock")

        flags.nodeSetup = true
        flags.mode = .sidecar
        #expect {
            _ = try ConfigResolver.resolve(flags, environment: [:])
        } throws: { "\($0)".contains("nodeSetup.enabled") && "\($0)".contains("node-local mode only") }
    }
}
