// The socket benchmark of docs/benchmarks.md (DESIGN.md §4): a real `warden serve` process,
// loaded with the benchmark data set through BulkGrant, measured over its Unix socket beside a
// C ping-pong floor measured in the same run. Run in release: `make bench-load`.
// `--scale` shrinks the data set; `--seconds` sets each throughput phase's length.
#if canImport(Glibc)
import Glibc
#endif
import CPingPong
import Foundation
import NIOPosix
import WardenClient
import WardenModel
import WardenProto
import WardenSQLiteStore
import WardenStore
import WardenTestSupport

let arguments = CommandLine.arguments
func option(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
let scale = option("--scale").flatMap(Double.init) ?? 1
let phaseSeconds = option("--seconds").flatMap(Double.init) ?? 3

func percentile(_ samples: [UInt64], _ p: Double) -> Double {
    let sorted = samples.sorted()
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000
}

func line(_ name: String, _ value: String, _ note: String = "") {
    print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + value.padding(toLength: 22, withPad: " ", startingAt: 0) + note)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-load-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
let socketPath = folder.appendingPathComponent("warden.sock").path
let databasePath = folder.appendingPathComponent("warden.db").path

print("warden load benchmark: scale \(scale), \(phaseSeconds) s per throughput phase, \(ProcessInfo.processInfo.activeProcessorCount) cores")
let data = try BenchmarkDataSet(scale: scale)

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
let binary = ProcessInfo.processInfo.environment["WARDEN_LOAD_SERVER"].map(URL.init(fileURLWithPath:))
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("warden")
let server = Process()
let wrapper = ProcessInfo.processInfo.environment["WARDEN_LOAD_WRAPPER"].map { $0.split(separator: " ").map(String.init) } ?? []
server.executableURL = wrapper.isEmpty ? binary : URL(fileURLWithPath: "/usr/bin/env")
server.arguments = wrapper + (wrapper.isEmpty ? [] : [binary.path]) + ["serve", "--socket", socketPath, "--database", databasePath]
server.standardOutput = FileHandle.nullDevice
server.standardError = FileHandle.nullDevice
try server.run()
defer {
    kill(server.processIdentifier, SIGTERM)
    server.waitUntilExit()
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
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
guard warden_pingpong(floorPath, Int32(floorRounds), 60, &floorSamples) == 0 else { throw LoadError("floor: errno \(errno)") }
let floorP50 = percentile(floorSamples, 0.5)
let floorPipelinedSeconds = warden_pingpong_pipelined(floorPath, 2_000_000, 60, 64)
let floorPipelined = 2_000_000 / floorPipelinedSeconds

print("")
line("figure", "measured", "ratio / target")
line("C ping-pong floor, 60 B, p50 / p99", String(format: "%.1f / %.1f µs", floorP50, percentile(floorSamples, 0.99)))
line("C ping-pong floor, 64 in flight", String(format: "%.0f msgs/s", floorPipelined))

// BulkGrant of the whole data set, end to end (client encoding and streaming included).
let wireGrants: [Warden_V1_Grant] = data.grants.map { grant in
    let subject: Warden_V1_Subject = switch grant.subject {
    case .user(let id): .user(id)
    case .group(let name): .group(name)
    }
    return Warden_V1_Grant(subject, grant.permission.description, pk: grant.pk, contentType: grant.permission.contentType.description)
}
let bulkStart = Date()
let bulkCPU = serverCPU()
let bulk = try await warden.bulkGrant(wireGrants, chunkSize: 10_000)
let bulkSeconds = Date().timeIntervalSince(bulkStart)
line("BulkGrant \(bulk.requested) grants, durable, end to end", String(format: "%.0f grants/s", Double(bulk.count) / bulkSeconds),
     String(format: "%.2f s; target ≥ 500k/s", bulkSeconds))
line("  server CPU in that call", String(format: "%.2f s", serverCPU() - bulkCPU))

/// The server process's CPU seconds so far (user + system), from /proc.
func serverCPU() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(server.processIdentifier)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}

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

// Check, one in flight.
let raw = try RawClient(path: socketPath)
var samples: [UInt64] = []
for i in 0..<30_000 {
    let (nanos, frame) = raw.roundTrip(checkFrames[i % checkFrames.count])
    precondition(frame.status == 0)
    if i >= 2000 { samples.append(nanos) }
}
let checkP50 = percentile(samples, 0.5)
line("Check p50 / p99, one in flight (raw client)", String(format: "%.1f / %.1f µs", checkP50, percentile(samples, 0.99)),
     String(format: "%.2f× floor; target ≤ 2×", checkP50 / floorP50))

// The same through the async Swift client.
var clientSamples: [UInt64] = []
for i in 0..<10_000 {
    let start = DispatchTimeNanos.now()
    _ = try await warden.check(checks[i % checks.count])
    if i >= 1000 { clientSamples.append(DispatchTimeNanos.now() - start) }
}
let clientP50 = percentile(clientSamples, 0.5)
line("Check p50 / p99, one in flight (WardenClient)", String(format: "%.1f / %.1f µs", clientP50, percentile(clientSamples, 0.99)),
     String(format: "%.2f× floor", clientP50 / floorP50))

// Pipelined: 64 in flight on one connection.
let cpuBefore = serverCPU()
let (count1, seconds1) = raw.pipeline(checkFrames, depth: 64, seconds: phaseSeconds)
let pipelined = Double(count1) / seconds1
line("Check, 64 in flight, one connection", String(format: "%.0f checks/s", pipelined),
     String(format: "%.2f of the floor's rate; target ≥ 300k/s", pipelined / floorPipelined))
line("  server CPU per check in that phase", String(format: "%.2f µs", (serverCPU() - cpuBefore) * 1e6 / Double(count1)))

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
line("  server CPU per decision in that phase", String(format: "%.2f µs", (serverCPU() - batchCPU) * 1e6 / Double(batches * 1000)))

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
line("ListObjects, user with \(min(50_000, data.experimentCount)) objects, one page", String(format: "%.0f µs", bigP50),
     "\(bigBytes) B reply; target ≤ 5 ms")
var small = Warden_V1_ListObjectsRequest()
small.subject = .user(BenchmarkDataSet.userID(data.smallUsers.lowerBound))
small.permissions = ["lab.change_experiment"]
let (smallP50, _) = latency(raw, RawClient.frame(.listObjects, small), rounds: 5000)
line("ListObjects, user with 10 objects", String(format: "%.1f µs", smallP50), "target ≤ 50 µs")
var who = Warden_V1_ListSubjectsRequest()
who.object = Warden_V1_ObjectRef("lab.experiment", BenchmarkDataSet.hotPK)
let (whoP50, _) = latency(raw, RawClient.frame(.listSubjects, who), rounds: 5000)
line("ListSubjects, object with ~100 users", String(format: "%.1f µs", whoP50), "target ≤ 100 µs")

await warden.close()
try await group.shutdownGracefully()
