// swift-tools-version:6.0
import PackageDescription

// The module layout of DESIGN.md §3. Data flows one way:
// WardenServer → WardenService → WardenIndex → WardenStore, all on WardenModel.
// Modules that later issues fill (store, service, proto, server, client) start as empty
// targets without external dependencies, so today's build stays small; each issue adds the
// packages its module needs.
// The request path (index, server) is checked for exclusive access at compile time; the
// run-time checks Swift adds on class properties cost about a tenth of a check round trip
// (measured with callgrind, docs/benchmarks.md), so these targets turn them off. Only targets
// that no product exports: a package that depends on WardenClient never sees the flag.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "warden",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
        .library(name: "WardenClient", targets: ["WardenClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "WardenModel"),
        // The lock every module shares state with (`Locked`): a pthread mutex that
        // ThreadSanitizer sees, where Synchronization's Mutex is invisible to it.
        .target(name: "WardenSync"),
        .target(name: "WardenIndex", dependencies: ["WardenModel"], swiftSettings: hotPath),
        // SQLite through its C API, linking Debian's libsqlite3-dev (`make deps` installs it).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // The store's rules, backend-neutral (`BackedStore`, `StoreBackend`); each backend is its
        // own module holding SQL only. Nothing above the store names a backend but the
        // composition root (`warden`).
        .target(name: "WardenStore", dependencies: ["WardenModel", "WardenSync"]),
        .target(name: "WardenSQLiteStore", dependencies: ["WardenModel", "WardenStore", "WardenSync", "CSQLite"]),
        // PostgreSQL through libpq's blocking C API, linking Debian's libpq-dev.
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "WardenPostgresStore", dependencies: ["WardenModel", "WardenStore", "WardenSync", "CPostgres"]),
        .target(
            name: "WardenService",
            dependencies: [
                "WardenModel", "WardenIndex", "WardenStore", "WardenSync", "CMemory",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The C allocator's statistics and malloc_trim (glibc's malloc.h, which Swift's Glibc
        // module does not export).
        .target(name: "CMemory"),
        .target(name: "WardenProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(
            name: "WardenServer",
            dependencies: [
                "WardenService", "WardenProto", "WardenWire", "WardenSync", "CPeerCredentials",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: hotPath
        ),
        // The frame layout of docs/protocol.md, shared by the server and the Swift client.
        .target(
            name: "WardenWire",
            dependencies: [
                "WardenProto", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // SO_PEERCRED: the uid and gid of the process at the other end of a Unix socket.
        .target(name: "CPeerCredentials"),
        // The file format of `warden import` and `export` (JSON lines, CSV): pure parsing and
        // rendering, shared by the CLI and the fuzzer.
        .target(name: "WardenRecords", dependencies: ["WardenProto"]),
        .target(
            name: "WardenClient",
            dependencies: [
                "WardenProto", "WardenWire", "WardenSync",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "warden",
            dependencies: [
                "WardenModel", "WardenIndex", "WardenStore", "WardenSQLiteStore", "WardenPostgresStore", "WardenService", "WardenServer",
                "WardenClient",
                "WardenProto", "WardenTelemetry", "WardenRecords",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Log handlers (text, JSON lines) and the metrics backend (swift-prometheus with Warden's
        // buckets); only the executable bootstraps them.
        .target(
            name: "WardenTelemetry",
            dependencies: [
                "WardenSync", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "WardenTelemetryTests",
            dependencies: [
                "WardenTelemetry", "WardenSync", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "WardenBench",
            dependencies: ["WardenModel", "WardenIndex", "CMemory", "WardenTestSupport"],
            path: "Benchmarks/WardenBench"
        ),
        .executableTarget(
            name: "WardenStoreBench",
            dependencies: [
                "WardenModel", "WardenIndex", "WardenStore", "WardenSQLiteStore", "WardenPostgresStore", "WardenService", "WardenTestSupport",
            ],
            path: "Benchmarks/WardenStoreBench"
        ),
        // The socket benchmark: a real server process, a raw and the async client, and a C floor.
        .executableTarget(
            name: "WardenLoad",
            dependencies: [
                "WardenClient", "WardenWire", "WardenProto", "WardenModel", "WardenStore", "WardenSQLiteStore", "WardenTestSupport", "CPingPong",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/WardenLoad"
        ),
        .target(name: "CPingPong", path: "Benchmarks/CPingPong"),
        // The several-hosts benchmark: sidecars on one PostgreSQL database beside one on SQLite.
        .executableTarget(
            name: "WardenHostsBench",
            dependencies: ["WardenClient", "WardenProto", .product(name: "NIOPosix", package: "swift-nio")],
            path: "Benchmarks/WardenHostsBench"
        ),
        // The fuzz harness (Fuzz/, docs/fuzzing.md): the frame cutting, request decoding and import
        // parsing of the fuzz targets, also run by the random-bytes tests. Reaches the server's
        // decoding through @testable, so its request part compiles in debug and fuzz builds only.
        .target(
            name: "WardenFuzzing",
            dependencies: [
                "WardenWire", "WardenServer", "WardenService", "WardenIndex", "WardenModel", "WardenStore", "WardenSQLiteStore", "WardenProto",
                "WardenRecords", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Fuzz/WardenFuzzing",
            swiftSettings: Context.environment["WARDEN_FUZZ"] == nil ? [] : [.define("WARDEN_FUZZING")]
        ),
        // Seeded random numbers for the property tests and the benchmark; not in any product.
        .target(name: "WardenTestSupport", dependencies: ["WardenModel"]),
        // A real process that writes and acknowledges, for the multi-process and kill -9 tests.
        .executableTarget(name: "warden-store-child", dependencies: ["WardenModel", "WardenStore", "WardenSQLiteStore"], path: "Tests/StoreChild"),
        .testTarget(name: "WardenModelTests", dependencies: ["WardenModel"]),
        // End to end: a real `warden serve` process on a real socket and SQLite file.
        .testTarget(
            name: "WardenServerTests",
            dependencies: [
                "WardenClient", "WardenProto", "WardenWire", "WardenModel", "WardenStore", "WardenSQLiteStore", "WardenPostgresStore", "WardenServer", "WardenIndex",
                "WardenTestSupport", "WardenFuzzing", "WardenSync",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "WardenRecordsTests", dependencies: ["WardenRecords", "WardenProto", "WardenFuzzing", "WardenTestSupport"]),
        .testTarget(
            name: "WardenStoreTests",
            dependencies: [
                "WardenModel", "WardenStore", "WardenSQLiteStore", "WardenPostgresStore", "WardenIndex", "WardenService", "CSQLite", "CMemory",
                "WardenTestSupport", "WardenSync", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WardenIndexTests",
            dependencies: ["WardenModel", "WardenIndex", "WardenTestSupport"],
            resources: [.copy("Vectors")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (docs/fuzzing.md), only when WARDEN_FUZZ is set: their `main` is libFuzzer's,
// linked by -sanitize=fuzzer, so they cannot build in the default graph. scripts/fuzz.sh builds
// them in .build-fuzz.
if Context.environment["WARDEN_FUZZ"] != nil {
    for name in ["FuzzFrames", "FuzzRequests", "FuzzImport"] {
        package.targets.append(
            .executableTarget(name: name, dependencies: ["WardenFuzzing", "WardenService"], path: "Fuzz/Targets/\(name)")
        )
    }
}
