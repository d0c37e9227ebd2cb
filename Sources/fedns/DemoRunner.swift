import Foundation
import Server

/// `fedns serve --demo`: writes the demo cluster and public zone to a temporary directory, serves
/// them on 127.0.0.1:5353 (unless --listen says otherwise), forwards the rest to this machine's
/// resolv.conf upstreams, and prints the dig commands to try.
enum DemoRunner {
    static func run(flags: CommandLineSettings) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedns-demo-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let clusterFile = dir.appendingPathComponent("cluster.yaml").path
        let zoneFile = dir.appendingPathComponent("example.com.zone").path
        let configFile = dir.appendingPathComponent("fedns.yaml").path
        try Demo.cluster.write(toFile: clusterFile, atomically: true, encoding: .utf8)
        try Demo.publicZone.write(toFile: zoneFile, atomically: true, encoding: .utf8)
        try Demo.config.replacingOccurrences(of: "PUBLIC_ZONE_FILE", with: zoneFile)
            .write(toFile: configFile, atomically: true, encoding: .utf8)

        var demoFlags = flags
        demoFlags.configFile = configFile
        demoFlags.clusterStateFile = clusterFile
        if demoFlags.listen.isEmpty { demoFlags.listen = ["127.0.0.1:5353"] }
        let config = try ConfigResolver.resolve(demoFlags, environment: [:])
        let port = config.effectiveListen[0].port
        let host = config.effectiveListen[0].host
        let at = "@\(host) -p \(port)"
        print("""
        fedns demo: cluster state \(clusterFile) (edit it: fedns reloads within a second)
        Try:
          dig \(at) nginx.mynamespace.myfederation A          # healthy local shard: the ClusterIP
          dig \(at) api.mynamespace.myfederation A            # unhealthy: CNAME to the zonal name, chased
          dig \(at) nginx.mynamespace.myfederation.svc.cluster.local A   # as it arrives via a pod's search path
          dig \(at) _http._tcp.nginx.mynamespace.svc.cluster.local SRV
          dig \(at) db.mynamespace.svc.cluster.local A         # headless: every ready endpoint
          dig \(at) -x 10.96.10.10                             # PTR
          dig \(at) dns-version.cluster.local TXT
          dig \(at) example.org A                              # forwarded to this machine's resolv.conf upstreams
        Metrics: curl http://127.0.0.1:9153/metrics   Stop: Ctrl-C
        """)
        fflush(nil)
        try await FednsApp(config: config).run()
    }
}
