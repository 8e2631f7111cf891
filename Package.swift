// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// What every component target (controllers and node components) builds on.
let componentBase: [Target.Dependency] = [
    "KubeModel",
    "ClusterStore",
    .product(name: "Logging", package: "swift-log"),
    .product(name: "Metrics", package: "swift-metrics"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "kplane",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kplane", targets: ["kplane"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.36.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.0"),
    ],
    targets: [
        // Kubernetes API types, manifest decoding, defaulting and validation. Pure: no I/O.
        .target(
            name: "KubeModel",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The Store protocol, the embedded SQLite store, the in-memory store, informers.
        .target(
            name: "ClusterStore",
            dependencies: [
                "KubeModel",
                "HostSystem",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // What kplane asks of the host it runs on: CPUs, memory, its tools (`HostCommand`).
        .target(
            name: "HostSystem",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Cluster DNS (the kube-dns / CoreDNS role): wire format, cluster zone, forwarding, servers.
        .target(
            name: "ClusterDNS",
            dependencies: [
                "KubeModel",
                "ClusterStore",
                "HostSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The ingress controller: route table, certificates by SNI, HTTP/1.1 + HTTP/2 reverse proxy.
        .target(
            name: "IngressProxy",
            dependencies: [
                "KubeModel",
                "ClusterStore",
                "HostSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Control-plane reconcilers of embedded mode: EndpointSlices (and mirroring of
        // hand-written Endpoints), LoadBalancer addresses, Deployments.
        .target(
            name: "Controllers",
            dependencies: componentBase,
            swiftSettings: strict
        ),
        // PV/PVC binding, StorageClass defaults, the local-path provisioner.
        .target(
            name: "Storage",
            dependencies: componentBase + ["HostSystem"],
            swiftSettings: strict
        ),
        // Services + EndpointSlices -> one nftables table; the nft applier.
        .target(
            name: "ServiceProxy",
            dependencies: componentBase + [
                "HostSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // NetworkPolicy evaluation (the single source of truth) and its nftables rendering.
        .target(
            name: "NetworkPolicy",
            dependencies: componentBase + ["HostSystem"],
            swiftSettings: strict
        ),
        // Single-node pods: network namespaces, veth pairs on a bridge, processes, probes, volumes.
        .target(
            name: "PodRuntime",
            dependencies: componentBase + ["HostSystem"],
            swiftSettings: strict
        ),
        // The CLI commands (kubectl's habits) and the `up` host.
        .target(
            name: "KplaneCommands",
            dependencies: [
                "KubeModel",
                "ClusterStore",
                "ClusterDNS",
                "IngressProxy",
                "Controllers",
                "Storage",
                "ServiceProxy",
                "NetworkPolicy",
                "PodRuntime",
                "HostSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "kplane", dependencies: ["KplaneCommands"], swiftSettings: strict),
        // Benchmark drivers behind bench/*.sh (not run by tests).
        .executableTarget(
            name: "kplane-bench",
            dependencies: [
                "KubeModel",
                "ClusterStore",
                "IngressProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "KubeModelTests", dependencies: ["KubeModel"], swiftSettings: strict),
        .testTarget(name: "ClusterStoreTests", dependencies: ["ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "HostSystemTests", dependencies: ["HostSystem"], swiftSettings: strict),
        .testTarget(name: "ClusterDNSTests", dependencies: ["ClusterDNS", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "IngressProxyTests", dependencies: [
            "IngressProxy", "ClusterStore", "KubeModel",
            // The response parser is checked against NIO's HTTP/1 codec.
            .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "ControllersTests", dependencies: ["Controllers", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "HostSystem", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "ServiceProxyTests", dependencies: ["ServiceProxy", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "NetworkPolicyTests", dependencies: ["NetworkPolicy", "HostSystem", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "PodRuntimeTests", dependencies: ["PodRuntime", "ClusterStore", "KubeModel"], swiftSettings: strict),
        .testTarget(name: "KplaneCommandsTests", dependencies: ["KplaneCommands", "ClusterStore", "KubeModel"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
