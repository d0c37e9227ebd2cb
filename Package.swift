// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fedns",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fedns", targets: ["fedns"]),
        .library(name: "NameExpansion", targets: ["NameExpansion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        .target(name: "NameExpansion"),
        // Node set-up as NodeLocal DNSCache does it: a dummy interface (rtnetlink) and NOTRACK rules (iptables).
        .target(name: "NodeSetup"),
        // SCM_RIGHTS for the hand-over of listening sockets (the CMSG macros are not imported into Swift).
        .target(name: "CFDPassing"),
        // recvmmsg/sendmmsg for the UDP listeners (struct mmsghdr is not imported into Swift); epoll for the
        // forwarder's UDP tries (struct epoll_event is packed).
        .target(name: "CUDPBatch"),
        // Monotonic time and sleep that tests drive (`ManualClock`), for every part that waits.
        .target(name: "Clocks"),
        .target(name: "DNSWire", dependencies: ["CLDNS", "NameExpansion"]),
        // The one YAML reader (config file, cluster objects, scenarios): values with file, line and key.
        .target(name: "YAMLReader", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "ClusterState", dependencies: [
            "Clocks", "NameExpansion", "YAMLReader",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "Resolver", dependencies: [
            "Clocks", "CUDPBatch", "DNSWire", "ClusterState", "NameExpansion", "YAMLReader",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ], exclude: [
            // Each handler folder documents itself (STYLE §2); the docs are not sources.
            "SearchPath/README.md", "Federation/README.md", "ClusterZone/README.md", "LocalZones/README.md", "Cache/README.md",
            "Forward/README.md",
        ]),
        .target(name: "Server", dependencies: [
            "Clocks", "Resolver", "NodeSetup", "CFDPassing", "CUDPBatch", "DNSWire", "ClusterState", "NameExpansion", "YAMLReader",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Conformance", dependencies: [
            "Clocks", "Server", "Resolver", "DNSWire", "ClusterState", "NameExpansion", "YAMLReader",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // `fedns resolve`: a pod's stub resolver walking its search list, against a server or in-process.
        .target(name: "PodLookup", dependencies: [
            "Server", "Resolver", "DNSWire", "NameExpansion",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The Kubernetes API source: list and watch over HTTPS. Only `fedns` and its tests depend on it, so the
        // fuzz targets (which link Server and Resolver) never compile BoringSSL.
        .target(name: "KubernetesSource", dependencies: [
            "Clocks", "ClusterState", "YAMLReader",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // `fedns publish`: the federation's public records, kept in the zone's primary by TSIG-signed UPDATEs.
        .target(name: "Publisher", dependencies: [
            "Clocks", "ClusterState", "DNSWire", "KubernetesSource", "NameExpansion", "Server", "YAMLReader",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "fedns", dependencies: [
            "Server", "Resolver", "ClusterState", "DNSWire", "NameExpansion", "Conformance", "PodLookup", "YAMLReader",
            "KubernetesSource", "Publisher", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // libFuzzer targets: the gate and the codec, the whole per-query path, the config file, the Kubernetes
        // list and watch decoders (scripts/fuzz.sh).
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzWire", dependencies: ["DNSWire", "FuzzDriver"]),
        .executableTarget(name: "FuzzEngine", dependencies: [
            "FuzzDriver", "Server", "Resolver", "DNSWire", "ClusterState", "NameExpansion",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzDriver", "Server", "YAMLReader"]),
        .executableTarget(name: "FuzzKube", dependencies: ["FuzzDriver", "ClusterState"]),
        .testTarget(name: "NameExpansionTests", dependencies: ["NameExpansion"]),
        .testTarget(name: "ClocksTests", dependencies: ["Clocks"]),
        .testTarget(name: "NodeSetupTests", dependencies: ["NodeSetup"]),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "Clocks"]),
        // Conformance: the property that every name handed out resolves, run over each target's fixtures.
        .testTarget(name: "ClusterStateTests", dependencies: [
            "Clocks", "ClusterState", "NameExpansion", "YAMLReader", "Conformance", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ResolverTests", dependencies: ["Clocks", "Resolver", "DNSWire", "ClusterState", "NameExpansion", "YAMLReader",
                                                          "Conformance"]),
        .testTarget(name: "PodLookupTests", dependencies: [
            "PodLookup", "DNSWire", "NameExpansion", .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "ServerTests", dependencies: [
            "Clocks", "Server", "Resolver", "DNSWire", "ClusterState", "YAMLReader",
            .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "DNSWire", "YAMLReader"]),
        .testTarget(name: "PublisherTests", dependencies: ["Publisher", "ClusterState", "DNSWire", "NameExpansion", "YAMLReader"]),
        .testTarget(name: "KubernetesSourceTests", dependencies: [
            "KubernetesSource", "Clocks", "ClusterState", "YAMLReader", .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ]
)
