import Logging
import NIOPosix
import Resolver
import Testing
@testable import Server

/// The chain `fedns serve` builds: one fixed order, steps switched on by configuration, never moved.
@Suite struct ChainWiringTests {
    static let upstreams = "upstreams: [\"192.0.2.1\"]\n"

    @Test(arguments: [
        ("", ["cluster-zone", "local-zones", "cache", "forward"]),
        ("federations: {myfederation: example.com}", ["federation", "cluster-zone", "local-zones", "cache", "forward"]),
        ("searchPath: {enabled: true, namespace: team-a}", ["search-path", "cluster-zone", "local-zones", "cache", "forward"]),
        ("mode: sidecar\nsearchPath: {namespace: team-a}\nfederations: {myfederation: example.com}",
         ["search-path", "federation", "cluster-zone", "local-zones", "cache", "forward"]),
    ])
    func configurationSwitchesStepsOnInTheFixedOrder(_ yaml: String, _ expected: [String]) throws {
        let config = try ConfigLoader.apply(yaml: Self.upstreams + yaml, to: FednsConfig())
        let stack = try ResolverStack.build(config: config, group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        #expect(stack.chain.handlers.map(\.name) == expected)
        #expect(try stack.chain.suffix(from: "local-zones").handlers.map(\.name) == ["local-zones", "cache", "forward"])
    }
}
