import CPingPong
import Foundation
import NIOCore
import NIOPosix
import WardenClient
import WardenModel
import WardenProto
import WardenSQLiteStore
import WardenStore
import WardenTestSupport

// The socket benchmark of docs/benchmarks.md (DESIGN.md §4): a real `warden serve` process,
// loaded with the benchmark data set through BulkGrant, measured over its Unix socket beside a
// C ping-pong floor measured in the same run. Run in release: `make bench-load`.
// `--scale` shrinks the data set; `--seconds` sets each throughput phase's length.
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
}
// --scale, --grants and --shape (BenchmarkOptions): the data set's size and shape.
let sizing = BenchmarkOptions()
let figures = BenchmarkFigures(benchmark: "WardenLoad", options: sizing)
let scale = sizing.scale
let phaseSeconds = option("--seconds").flatMap(Double.init) ?? 3
// `--nio-global-executor`: SwiftNIO's singleton event loops run every task (an app's choice,
// made once at start), and WardenClient connects on them: an answer resumes its task on the
// loop that read it.
let nioGlobalExecutor = arguments.contains("--nio-global-executor")
if nioGlobalExecutor && !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
    throw LoadError("SwiftNIO's event loops could not become the global executor")
}

func percentile(_ samples: [UInt64], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func line(_ name: String, _ value: String, _ note: String = "") {
    print(
        name.padding(toLength: 52, withPad: " ", startingAt: 0)
            + value.padding(toLength: 22, withPad: " ", startingAt: 0) + note
    )
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-load-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
// `--keep`: leave the folder (its database) behind, for a look at the server afterwards.
let keepFolder = arguments.contains("--keep")
defer { if !keepFolder { try? FileManager.default.removeItem(at: folder) } }
let socketPath = folder.appendingPathComponent("warden.sock").path
let databasePath = folder.appendingPathComponent("warden.db").path

print(
    "warden load benchmark: scale \(scale), \(phaseSeconds) s per throughput phase, \(ProcessInfo.processInfo.activeProcessorCount) cores"
)
let data = try sizing.dataSet()

// The schema (users, groups, memberships) goes straight into the file: it is set-up, not measured.
do {
    let store = try SQLiteStore(path: databasePath)
    var start = 0
    while start < data.schema.count {
        _ = try store.apply(batch: Array(data.schema[start..<min(start + 20_000, data.schema.count)]))
        start += 20_000
    }
}

// The server: `warden` next to this executable (WARDEN_LOAD_SERVER: another binary); WARDEN_LOAD_WRAPPER (e.g. a profiler's command
// line) runs it under another program.
let binary =
    ProcessInfo.processInfo.environment["WARDEN_LOAD_SERVER"].map(URL.init(fileURLWithPath:))
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("warden")
let wrapper =
    ProcessInfo.processInfo.environment["WARDEN_LOAD_WRAPPER"].map { $0.split(separator: " ").map(String.init) } ?? []
// A server on an empty database first: the baseline its memory per grant is counted from.
let emptyServer = try BenchServer(
    binary: binary,
    wrapper: wrapper,
    socket: folder.appendingPathComponent("empty.sock").path,
    database: folder.appendingPathComponent("empty.db").path,
    timeout: wrapper.isEmpty ? 120 : 1200
)
let emptyAnonymous = emptyServer.anonymousBytes
emptyServer.stop()
var server = try BenchServer(
    binary: binary,
    wrapper: wrapper,
    socket: socketPath,
    database: databasePath,
    timeout: wrapper.isEmpty ? 120 : 1200
)
defer { server.stop() }
let group = nioGlobalExecutor ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: 1)
var client: WardenConnection?
// Under a profiler (WARDEN_LOAD_WRAPPER) the server may take minutes to start.
for _ in 0..<(wrapper.isEmpty ? 3000 : 30_000) where client == nil {
    client = try? await WardenConnection.connect(socketPath: socketPath, group: group, defaultTimeout: .seconds(600))
    if client == nil { usleep(20_000) }
}
guard let warden = client else { throw LoadError("the server did not start") }

// The floor: C ping-pong of 60-byte messages over a Unix socket, same machine, same run.
let floorPath = folder.appendingPathComponent("floor.sock").path
let floorRounds = option("--floor-rounds").flatMap(Int.init) ?? 20_000
var floorSamples = [UInt64](repeating: 0, count: floorRounds)
guard warden_pingpong(floorPath, Int32(floorRounds), 60, &floorSamples) == 0 else {
    throw LoadError("floor: errno \(errno)")
}
let floorP50 = percentile(floorSamples, 0.5)
let floorPipelinedSeconds = warden_pingpong_pipelined(floorPath, 2_000_000, 60, 64)
let floorPipelined = 2_000_000 / floorPipelinedSeconds
figures.record("floor_p50_us", floorP50)
figures.record("floor_pipelined_per_second", floorPipelined)
figures.record("grants", Double(data.grants.count))
figures.record("server_rss_anon_empty_bytes", emptyAnonymous)

print("")
line("figure", "measured", "ratio / target")
line("C ping-pong floor, 60 B, p50 / p99", String(format: "%.1f / %.1f µs", floorP50, percentile(floorSamples, 0.99)))
line("C ping-pong floor, 64 in flight", String(format: "%.0f msgs/s", floorPipelined))

// BulkGrant of the whole data set, end to end (client encoding and streaming included).
let wireGrants: [Warden_V1_Grant] = data.grants.map { grant in
    let subject: Warden_V1_Subject =
        switch grant.subject {
        case .user(let id): .user(id)
        case .group(let name): .group(name)
        }
    return Warden_V1_Grant(
        subject,
        grant.permission.description,
        pk: grant.pk,
        contentType: grant.permission.contentType.description
    )
}
let bulkStart = Date()
let bulkCPU = serverCPU()
let bulk = try await warden.bulkGrant(wireGrants, chunkSize: 10_000)
let bulkSeconds = Date().timeIntervalSince(bulkStart)
line(
    "BulkGrant \(bulk.requested) grants, durable, end to end",
    String(format: "%.0f grants/s", Double(bulk.count) / bulkSeconds),
    String(format: "%.2f s; target ≥ 500k/s", bulkSeconds)
)
line("  server CPU in that call", String(format: "%.2f s", serverCPU() - bulkCPU))
figures.record("bulk_grants_per_second", Double(bulk.count) / bulkSeconds)
figures.record("bulk_server_cpu_seconds", serverCPU() - bulkCPU)
let builtAnonymous = server.anonymousBytes
let builtPerGrant = (builtAnonymous - emptyAnonymous) / Double(data.grants.count)
line(
    "server memory after the bulk (RssAnon)",
    String(format: "%.0f MiB", builtAnonymous / 1_048_576),
    String(format: "%.1f B a grant over an empty server's %.0f MiB", builtPerGrant, emptyAnonymous / 1_048_576)
)
figures.record("server_rss_anon_after_bulk_bytes", builtAnonymous)
figures.record("server_bytes_per_grant_after_bulk", builtPerGrant)

/// The server process's CPU seconds so far (user + system), from /proc.
@MainActor func serverCPU() -> Double { server.cpuSeconds }

// Requests: 1000 checks cycling over users, permissions and objects of the data set.
var random = SplitMix64(seed: 7)
var checks: [Warden_V1_CheckRequest] = []
for _ in 0..<1000 {
    let grant = data.grants[Int(random.next() % UInt64(data.grants.count))]
    var request = Warden_V1_CheckRequest()
    request.subject = .user(BenchmarkDataSet.userID(Int(random.next() % UInt64(data.userCount))))
    request.permission = grant.permission.description
    if let pk = grant.pk { request.object = Warden_V1_ObjectRef(grant.permission.contentType.description, pk) }
    checks.append(request)
}
let checkFrames = checks.map { RawClient.frame(.check, $0) }

// Check, one in flight: the raw client, WardenClient from the executors an app's code runs
// on (ClientPhases), and the C floor again, in interleaved blocks, so that the VM's changing
// wake-up times (the floor's p50 moves between about 8 and 50 µs within minutes) weigh on each alike.
let raw = try RawClient(path: socketPath)
let clientExecutor = warden.taskExecutor
let blocks = option("--blocks").flatMap(Int.init) ?? 8
let perBlock = 2000
var oneInFlight: [String: [UInt64]] = [:]
/// This process's CPU time, in nanoseconds, spent by each mode's blocks (all its threads).
var clientCPU: [String: UInt64] = [:]
func processCPU() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}
// `--modes raw,loop` measures only those (for a profiler or strace on this process).
let modes = Set((option("--modes") ?? "floor,raw,task,loop,main").split(separator: ",").map(String.init))
for _ in 0..<blocks {
    var cpu = processCPU()
    func charge(_ key: String) {
        let now = processCPU()
        clientCPU[key, default: 0] += now - cpu
        cpu = now
    }
    if modes.contains("floor") {
        var floorBlock = [UInt64](repeating: 0, count: perBlock)
        guard warden_pingpong(floorPath, Int32(perBlock), 60, &floorBlock) == 0 else {
            throw LoadError("floor: errno \(errno)")
        }
        oneInFlight["floor", default: []] += floorBlock.dropFirst(perBlock / 10)
        charge("floor")
    }
    if modes.contains("raw") {
        for i in 0..<perBlock {
            let (nanos, frame) = raw.roundTrip(checkFrames[i % checkFrames.count])
            precondition(frame.status == 0)
            if i >= perBlock / 10 { oneInFlight["raw", default: []].append(nanos) }
        }
        charge("raw")
    }
    if modes.contains("task") {
        oneInFlight["task", default: []] += try await ClientPhases.roundTrips(warden, checks, rounds: perBlock, on: nil)
        charge("task")
    }
    if modes.contains("loop") {
        oneInFlight["loop", default: []] += try await withTaskExecutorPreference(clientExecutor) {
            try await ClientPhases.roundTrips(warden, checks, rounds: perBlock, on: nil)
        }
        charge("loop")
    }
    if modes.contains("main") {
        oneInFlight["main", default: []] +=
            try await ClientPhases.roundTrips(warden, checks, rounds: perBlock, on: MainActor.shared)
        charge("main")
    }
}
let interleavedFloor = percentile(oneInFlight["floor"] ?? [0], 0.5)
let checkP50 = percentile(oneInFlight["raw"] ?? [0], 0.5)
figures.record("check_floor_interleaved_p50_us", interleavedFloor)
for (key, samples) in oneInFlight {
    figures.record("check_\(key)_p50_us", percentile(samples, 0.5))
    figures.record("check_\(key)_p99_us", percentile(samples, 0.99))
}
@MainActor func oneInFlightLine(_ name: String, _ key: String, _ note: String = "") {
    guard let samples = oneInFlight[key] else { return }
    let p50 = percentile(samples, 0.5)
    line(
        "Check p50 / p99, one in flight (\(name))",
        String(format: "%.1f / %.1f µs", p50, percentile(samples, 0.99)),
        String(
            format: "%.2f× floor, %.2f× raw; client CPU %.1f µs",
            p50 / interleavedFloor,
            p50 / checkP50,
            Double(clientCPU[key] ?? 0) / 1000 / Double(blocks * perBlock)
        ) + note
    )
}
let floorP99 = percentile(oneInFlight["floor"] ?? [0], 0.99)
line(
    "C floor p50 / p99, interleaved with the next",
    String(format: "%.1f / %.1f µs", interleavedFloor, floorP99),
    "\(blocks) blocks of \(perBlock)"
)
oneInFlightLine("raw client", "raw")
oneInFlightLine("WardenClient, task", "task")
oneInFlightLine("WardenClient, loop", "loop")
oneInFlightLine("WardenClient, main", "main")

// `--one-in-flight-only`: stop here (for a profiler or strace on this process).
if arguments.contains("--one-in-flight-only") {
    await warden.close()
    server.stop()
    if !keepFolder { try? FileManager.default.removeItem(at: folder) }
    exit(0)
}

// Many tasks on one WardenClient connection, each with one Check in flight.
for (name, executor) in [("task", nil), ("loop", clientExecutor)] as [(String, (any TaskExecutor)?)] {
    let rate = try await ClientPhases.pipelined(warden, checks, tasks: 64, seconds: phaseSeconds, executor: executor)
    line(
        "Check, 64 tasks, one WardenClient (\(name))",
        String(format: "%.0f checks/s", rate),
        String(format: "%.2f of the floor's rate", rate / floorPipelined)
    )
    figures.record("check_64_tasks_\(name)_per_second", rate)
}

// Pipelined: 64 in flight on one connection.
let cpuBefore = serverCPU()
let (count1, seconds1) = raw.pipeline(checkFrames, depth: 64, seconds: phaseSeconds)
let pipelined = Double(count1) / seconds1
line(
    "Check, 64 in flight, one connection",
    String(format: "%.0f checks/s", pipelined),
    String(format: "%.2f of the floor's rate; target ≥ 300k/s", pipelined / floorPipelined)
)
line(
    "  server CPU per check in that phase",
    String(format: "%.2f µs", (serverCPU() - cpuBefore) * 1e6 / Double(count1))
)
figures.record("check_pipelined_per_second", pipelined)

// Several connections, each with 64 in flight, one thread each.
let connections = 4
let multi = await withTaskGroup(of: Double.self) { tasks in
    for _ in 0..<connections {
        tasks.addTask { [checkFrames, socketPath, phaseSeconds] in
            // A thread of its own: the raw client blocks.
            await withCheckedContinuation { continuation in
                Thread {
                    let client = try! RawClient(path: socketPath)
                    let (count, seconds) = client.pipeline(checkFrames, depth: 64, seconds: phaseSeconds)
                    continuation.resume(returning: Double(count) / seconds)
                }.start()
            }
        }
    }
    var total = 0.0
    for await rate in tasks { total += rate }
    return total
}
line("Check, 64 in flight × \(connections) connections", String(format: "%.0f checks/s", multi))
figures.record("check_pipelined_4_connections_per_second", multi)

// BatchCheck: batches of 1000, 4 in flight.
var batch = Warden_V1_BatchCheckRequest()
batch.items = checks.map { check in
    var item = Warden_V1_CheckItem()
    item.subject = check.subject
    item.permission = check.permission
    if check.hasObject { item.object = check.object }
    return item
}
let batchCPU = serverCPU()
let (batches, batchSeconds) = raw.pipeline([RawClient.frame(.batchCheck, batch)], depth: 4, seconds: phaseSeconds)
let decisions = Double(batches * 1000) / batchSeconds
line("BatchCheck, batches of 1000, 4 in flight", String(format: "%.0f decisions/s", decisions), "target ≥ 2M/s")
figures.record("batch_check_decisions_per_second", decisions)
line(
    "  server CPU per decision in that phase",
    String(format: "%.2f µs", (serverCPU() - batchCPU) * 1e6 / Double(batches * 1000))
)

// Lists, one in flight.
func latency(_ raw: RawClient, _ frame: [UInt8], rounds: Int) -> (Double, Int) {
    var samples: [UInt64] = []
    var size = 0
    for i in 0..<rounds {
        let (nanos, response) = raw.roundTrip(frame)
        precondition(response.status == 0)
        size = response.body.readableBytes
        if i >= rounds / 10 { samples.append(nanos) }
    }
    return (percentile(samples, 0.5), size)
}
var big = Warden_V1_ListObjectsRequest()
big.subject = .user(BenchmarkDataSet.userID(0))
big.permissions = ["lab.view_experiment"]
big.pageSize = 100_000
let (bigP50, bigBytes) = latency(raw, RawClient.frame(.listObjects, big), rounds: 50)
line(
    "ListObjects, user with \(data.bigListCount) objects, one page",
    String(format: "%.0f µs", bigP50),
    "\(bigBytes) B reply; target ≤ 5 ms"
)
figures.record("list_big_us", bigP50)
var small = Warden_V1_ListObjectsRequest()
small.subject = .user(BenchmarkDataSet.userID(data.smallUsers.lowerBound))
small.permissions = ["lab.change_experiment"]
let (smallP50, _) = latency(raw, RawClient.frame(.listObjects, small), rounds: 5000)
line("ListObjects, user with 10 objects", String(format: "%.1f µs", smallP50), "target ≤ 50 µs")
figures.record("list_small_us", smallP50)
var who = Warden_V1_ListSubjectsRequest()
who.object = Warden_V1_ObjectRef("lab.experiment", BenchmarkDataSet.hotPK)
let (whoP50, _) = latency(raw, RawClient.frame(.listSubjects, who), rounds: 5000)
line("ListSubjects, object with ~100 users", String(format: "%.1f µs", whoP50), "target ≤ 100 µs")
figures.record("list_subjects_us", whoP50)

try await ServerPhases.memory(server: server, socketPath: socketPath, check: checkFrames[0], figures: figures)
await warden.close()
server = try ServerPhases.coldRestart(
    server: server,
    restart: {
        try BenchServer(
            binary: binary,
            wrapper: wrapper,
            socket: socketPath,
            database: databasePath,
            timeout: wrapper.isEmpty ? 1200 : 12_000
        )
    },
    emptyAnonymous: emptyAnonymous,
    grants: data.grants.count,
    figures: figures
)
let afterRestart = try RawClient(path: socketPath)
var restartSamples: [UInt64] = []
for i in 0..<(blocks * perBlock) {
    let (nanos, frame) = afterRestart.roundTrip(checkFrames[i % checkFrames.count])
    precondition(frame.status == 0)
    if i >= blocks * perBlock / 10 { restartSamples.append(nanos) }
}
line(
    "Check p50 / p99 after the restart (raw client)",
    String(format: "%.1f / %.1f µs", percentile(restartSamples, 0.5), percentile(restartSamples, 0.99))
)
figures.record("check_after_restart_p50_us", percentile(restartSamples, 0.5))

// Small bulks into the big index: 100 rows are applied in place after their commit, 1000 on a
// copy of the state built aside while they commit (what the copy costs grows with the index).
let smallBulk = try await WardenConnection.connect(socketPath: socketPath, group: group, defaultTimeout: .seconds(600))
for size in [100, 1000] {
    var seconds: [Double] = []
    for round in 0..<5 {
        let grants = (0..<size).map { n in
            Warden_V1_Grant(
                .user(BenchmarkDataSet.userID(n % data.userCount)),
                "lab.view_experiment",
                pk: "small-bulk-\(size)-\(round)-\(n)",
                contentType: "lab.experiment"
            )
        }
        let start = Date()
        _ = try await smallBulk.bulkGrant(grants, chunkSize: 1000)
        seconds.append(Date().timeIntervalSince(start))
    }
    let median = seconds.sorted()[2]
    line("BulkGrant of \(size) into the loaded index", String(format: "%.1f ms", median * 1e3), "median of 5")
    figures.record("small_bulk_\(size)_ms", median * 1e3)
}
await smallBulk.close()
figures.write(to: sizing.jsonPath)
if keepFolder { print("kept \(folder.path)") }

if !nioGlobalExecutor { try await group.shutdownGracefully() }
