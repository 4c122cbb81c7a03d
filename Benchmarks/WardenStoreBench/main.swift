import Foundation
import WardenIndex
import WardenModel
import WardenPostgresStore
import WardenSQLiteStore
import WardenService
import WardenStore
import WardenTestSupport

// WardenStoreBench — the durable store's figures (issue #3): bulk grant of the 1M-grant data
// set, cold load of it into an index, single durable grant latency, and single grants from
// several threads at once. Run in release: `make bench-store`. `--scale` shrinks the data set;
// `--normal` uses synchronous=NORMAL instead of the default FULL. `--postgres URI` runs it on
// a PostgreSQL database instead (an empty one: `createdb warden_bench`), through the same store
// rules. `--database PATH` keeps the SQLite file at PATH; given a file that already holds data,
// the bench only cold-loads it `--loads N` times (3 by default), for A/B runs and profiles of the
// index build.
#if canImport(Glibc)
import Glibc
#endif

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Bytes this process has caused to be written to storage so far (/proc/self/io `write_bytes`).
func bytesWritten() -> Double {
    let text = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
        return Double(line.split(separator: " ").last.map(String.init) ?? "") ?? 0
    }
    return 0
}

/// The calling thread's CPU seconds so far: in a cold load, the builder's (the snapshot is read on
/// another thread), a steadier figure than wall time on a shared machine.
func threadCPU() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// This process's CPU seconds so far (user + system).
func processCPU() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
// --scale, --grants and --shape (BenchmarkOptions): the data set's size and shape.
let sizing = BenchmarkOptions()
let figures = BenchmarkFigures(benchmark: "WardenStoreBench", options: sizing)
let options = {
    var options = SQLiteStore.Options()
    if arguments.contains("--normal") { options.synchronous = .normal }
    return options
}()
let postgres = arguments.firstIndex(of: "--postgres").map { arguments[$0 + 1] }

let kept = arguments.firstIndex(of: "--database").map { arguments[$0 + 1] }
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("warden-store-bench-\(getpid())")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
let path = kept ?? folder.appendingPathComponent("warden.db").path

/// A cold load of the store, as `warden serve` does at start: wall seconds, the builder
/// thread's CPU seconds, and the loaded replica.
func coldLoad(_ open: () throws -> any PermissionStore) throws -> (wall: Double, builder: Double, replica: IndexReplica)
{
    var loaded: IndexReplica?
    let cpu = threadCPU()
    let time = try ContinuousClock().measure { loaded = try IndexReplica(store: open()) }
    return (seconds(time), threadCPU() - cpu, loaded!)
}

// `--database PATH` of a file with data: cold loads only.
if let kept, postgres == nil, FileManager.default.fileExists(atPath: kept),
    try SQLiteStore(path: kept, options: options).revision != .zero
{
    let count = arguments.firstIndex(of: "--loads").flatMap { Int(arguments[$0 + 1]) } ?? 3
    var walls: [Double] = []
    var builders: [Double] = []
    for n in 1...count {
        let load = try coldLoad { try SQLiteStore(path: kept, options: options) }
        walls.append(load.wall)
        builders.append(load.builder)
        print(
            "cold load \(n): \(String(format: "%.2f", load.wall)) s, builder CPU "
                + "\(String(format: "%.2f", load.builder)) s (\(load.replica.index.statistics.grants) grants)"
        )
    }
    print(
        "median: \(String(format: "%.2f", percentile(walls, 0.5))) s, builder CPU "
            + "\(String(format: "%.2f", percentile(builders, 0.5))) s"
    )
    exit(0)
}

let data = try sizing.dataSet()
let clock = ContinuousClock()
let backend = postgres == nil ? "SQLite, synchronous=\(options.synchronous.rawValue)" : "PostgreSQL"
print("WardenStoreBench — \(data.grants.count) grants, \(data.userCount) users, \(backend)")

/// The store under test: the SQLite file, or the PostgreSQL database.
func openStore() throws -> any PermissionStore {
    if let postgres { return try PostgresStore(uri: postgres) }
    return try SQLiteStore(path: path, options: options)
}

// Schema (users, groups, memberships, types) as one batch of single writes: one transaction.
let store = try openStore()
guard try store.revision == .zero else {
    print("the database is not empty (revision \(try store.revision)); give the bench an empty one")
    exit(1)
}
let schemaTime = try clock.measure { _ = try store.apply(batch: data.schema) }
print("schema, \(data.schema.count) writes in one batch   \(String(format: "%.2f", seconds(schemaTime))) s")

// Bulk grant, in chunks of 100k grants (one transaction each), as a client streaming it would.
let chunk = 100_000
var bulkTotal = Duration.zero
var bulkCPU = 0.0
var granted = 0
var chunkWrites: [Double] = []
for start in stride(from: 0, to: data.grants.count, by: chunk) {
    let slice = Array(data.grants[start..<min(start + chunk, data.grants.count)])
    let cpu = processCPU()
    let written = bytesWritten()
    let time = try clock.measure { granted += try store.bulkGrant(slice).count }
    chunkWrites.append(bytesWritten() - written)
    bulkCPU += processCPU() - cpu
    bulkTotal += time
}
print(
    "bulk grant, \(granted) rows             \(String(format: "%.2f", seconds(bulkTotal))) s   "
        + "\(Int(Double(granted) / seconds(bulkTotal) / 1000))k grants/s (chunks of \(chunk), durable)"
)
// CPU time is the steadier figure on a shared machine: wall time also counts waiting for a core.
print(
    "  CPU time of the bulk            \(String(format: "%.2f", bulkCPU)) s   "
        + "\(Int(Double(granted) / bulkCPU / 1000))k grants per CPU second"
)
// What a chunk costs the disk as the file grows: a chunk's rows land on pages all over the
// table's B-trees, and each page it changes is written whole (WAL, then checkpoint).
let firstChunkBytes = chunkWrites.first ?? 0
let lastChunkBytes = chunkWrites.last ?? 0
print(
    "  bytes written per grant         first chunk \(Int(firstChunkBytes / Double(chunk))), "
        + "last chunk \(Int(lastChunkBytes / Double(chunk))), all \(Int(chunkWrites.reduce(0, +) / Double(granted)))"
)
figures.record("bulk_bytes_written_per_grant_first_chunk", firstChunkBytes / Double(chunk))
figures.record("bulk_bytes_written_per_grant_last_chunk", lastChunkBytes / Double(chunk))
figures.record("grants", Double(granted))
figures.record("bulk_grants_per_second", Double(granted) / seconds(bulkTotal))
figures.record("bulk_grants_per_cpu_second", Double(granted) / bulkCPU)
// `--bulk-only`: stop here (for profiling the bulk path).
if arguments.contains("--bulk-only") {
    figures.write(to: sizing.jsonPath)
    exit(0)
}

// Cold load: open the file and build the index, as `warden serve` does at start.
let cold = try coldLoad(openStore)
print(
    "cold load into the index          \(String(format: "%.2f", cold.wall)) s   "
        + "(\(cold.replica.index.statistics.grants) grants; builder CPU \(String(format: "%.2f", cold.builder)) s)"
)
let snapshotTime = try clock.measure { _ = try store.snapshot() }
print("  of which reading the snapshot   \(String(format: "%.2f", seconds(snapshotTime))) s")
figures.record("cold_load_seconds", cold.wall)
figures.record("cold_load_builder_cpu_seconds", cold.builder)
figures.record("snapshot_read_seconds", seconds(snapshotTime))

// Single durable grants, one at a time: latency per write.
let replica = cold.replica
let read = data.experimentPerms[0]
var latencies: [Double] = []
for n in 0..<500 {
    let grant = try Grant(
        subject: .user(BenchmarkDataSet.userID(n % data.userCount)),
        permission: read,
        pk: "single-\(n)"
    )
    let time = try clock.measure { _ = try replica.apply(.grant(grant)) }
    latencies.append(seconds(time) * 1e6)
}
print(
    "single durable grant              p50 \(Int(percentile(latencies, 0.5))) µs   p99 \(Int(percentile(latencies, 0.99))) µs (500 writes)"
)
figures.record("single_grant_p50_us", percentile(latencies, 0.5))
figures.record("single_grant_p99_us", percentile(latencies, 0.99))

// Single grants from 4 threads at once.
let threads = 4
let perThread = 250
let group = DispatchGroup()
let concurrentTime = clock.measure {
    for t in 0..<threads {
        group.enter()
        Thread {
            for n in 0..<perThread {
                let grant = try! Grant(
                    subject: .user(BenchmarkDataSet.userID(t)),
                    permission: read,
                    pk: "concurrent-\(t)-\(n)"
                )
                _ = try! replica.apply(.grant(grant))
            }
            group.leave()
        }.start()
    }
    group.wait()
}
print(
    "concurrent single grants, \(threads) threads  \(Int(Double(threads * perThread) / seconds(concurrentTime))) writes/s"
)
figures.record("concurrent_single_grants_per_second", Double(threads * perThread) / seconds(concurrentTime))
figures.write(to: sizing.jsonPath)
