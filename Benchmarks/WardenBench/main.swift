import CMemory
import WardenIndex
import WardenModel
import WardenTestSupport

// WardenBench — builds the index of DESIGN.md §4's data set (10k users, 200 groups, 100k
// objects, 1M grants; seeded, so every run builds the same index) and prints the figures that
// issue #2 asks for. Run it in release: `make bench` (or `swift run -c release WardenBench`).
// `--scale 0.01` builds a proportionally smaller index (CI runs that as a smoke test);
// `--grants 10M --shape distinct` another size and shape, `--json PATH` writes the figures too
// (BenchmarkOptions).
#if canImport(Glibc)
import Glibc
#endif

// MARK: Harness

func now() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Heap bytes in use (glibc's allocator statistics): what the index holds, not what the
/// allocator kept after freeing the input.
func heapInUse() -> Int { Int(warden_heap_in_use()) }

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0
    var resident = 0
    _ = withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) } }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Runs `body` `runs` times and returns the median of its nanoseconds per operation.
func measure(runs: Int, operations: Int, _ body: () -> Void) -> Double {
    (0..<runs).map { _ in
        let start = now()
        body()
        return Double(now() - start) / Double(operations)
    }.reduce(into: []) { $0.append($1) }.sorted()[runs / 2]
}

func format(_ value: Double, _ decimals: Int = 1) -> String {
    var text = String(Int((value * pow(10, Double(decimals))).rounded()))
    if decimals > 0 {
        while text.count <= decimals { text = "0" + text }
        text.insert(".", at: text.index(text.endIndex, offsetBy: -decimals))
    }
    return text
}

nonisolated(unsafe) var sink = 0
func consume(_ value: Int) { sink &+= value }

// MARK: Data set

let options = BenchmarkOptions()
let figures = BenchmarkFigures(benchmark: "WardenBench", options: options)
let data = try options.dataSet()
let userCount = data.userCount
let experimentCount = data.experimentCount
let smallUsers = data.smallUsers
let carPerms = data.carPerms
let hotPK = BenchmarkDataSet.hotPK
func userID(_ n: Int) -> String { BenchmarkDataSet.userID(n) }
nonisolated(unsafe) var random = SplitMix64(seed: 2027)
let heapBefore = heapInUse()
let rssBefore = residentBytes()
var grants = data.grants
var changes = data.schema + grants.map(Change.grant)

// MARK: Build

let index = PermissionIndex()
let buildStart = now()
try index.apply(changes)
let buildSeconds = Double(now() - buildStart) / 1e9
let statistics = index.statistics
let sampleGrants = Array(grants.filter { $0.pk != nil }.shuffled(using: &random).prefix(4096))
changes = []
grants = []
let heapAfter = heapInUse()
let rssAfter = residentBytes()

let heapPerGrant = Double(heapAfter - heapBefore) / Double(statistics.grants)
let rssPerGrant = Double(rssAfter - rssBefore) / Double(statistics.grants)
figures.record("grants", Double(statistics.grants))
figures.record("objects", Double(statistics.objects))
figures.record("users", Double(statistics.users))
figures.record("build_seconds", buildSeconds)
figures.record("heap_bytes_per_grant", heapPerGrant)
figures.record("rss_bytes_per_grant", rssPerGrant)
figures.record("rss_bytes_after_build", Double(rssAfter))
print(
    "WardenBench — \(options.shape.rawValue) shape, index of \(statistics.users) users, \(statistics.groups) groups, \(statistics.objects) objects, "
        + "\(statistics.grants) grants (\(statistics.objectGrants) object, \(statistics.modelGrants) model)"
)
print(
    "build (one batch)            \(format(buildSeconds, 2)) s   \(format(Double(statistics.grants) / buildSeconds / 1000, 0))k grants/s"
)
// Heap: bytes the index holds once the input is freed (a 4096-grant sample stays alive, <0.5 B
// a grant). RSS also keeps what the allocator did not return after the build.
print("memory per grant (heap)      \(format(heapPerGrant)) bytes")
print(
    "memory per grant (RSS)       \(format(rssPerGrant)) bytes (includes allocator slack)"
)

// MARK: Check

func checkRequests(_ count: Int, object: Bool) -> [CheckRequest] {
    (0..<count).map { n in
        if object {
            // Half are real grants (allowed), half the same user on a random object.
            let grant = sampleGrants[n % sampleGrants.count]
            guard case .user(let id) = grant.subject else {
                return CheckRequest(
                    subject: .user(userID(150)),
                    permission: grant.permission.description,
                    object: grant.object
                )
            }
            let pk = n % 2 == 0 ? grant.pk! : String(Int.random(in: 0..<experimentCount, using: &random))
            return CheckRequest(
                subject: .user(id),
                permission: grant.permission.description,
                object: ObjectRef(contentType: grant.permission.contentType.description, pk: pk)
            )
        }
        let user = userID(Int.random(in: 0..<userCount, using: &random))
        return CheckRequest(subject: .user(user), permission: carPerms[n % carPerms.count].description)
    }
}

func checkLoop(_ requests: [CheckRequest]) -> Double {
    measure(runs: 5, operations: requests.count) {
        var allowed = 0
        for position in requests.indices where (try? index.check(requests[position]).value.allowed) == true {
            allowed += 1
        }
        consume(allowed)
    }
}

let objectChecks = checkRequests(200_000, object: true)
let modelChecks = checkRequests(200_000, object: false)
let objectNs = checkLoop(objectChecks)
let modelNs = checkLoop(modelChecks)
// The same requests, 1000 of them over and over: what a check costs when its data is in cache
// (a service's hot users and objects), against the random walk over the whole index above.
let hotObjectNs = checkLoop(Array(repeating: Array(objectChecks.prefix(1000)), count: 200).flatMap { $0 })
let sameNs = checkLoop(Array(repeating: objectChecks[0], count: 200_000))
figures.record("check_repeated_ns", sameNs)
figures.record("check_object_ns", objectNs)
figures.record("check_object_hot_ns", hotObjectNs)
figures.record("check_model_ns", modelNs)
print("check, one request repeated  \(format(sameNs)) ns/op (the compute floor; median of 5 × 200000)")
print(
    "check, object level          \(format(objectNs)) ns/op (random over the index; median of 5 × \(objectChecks.count))"
)
print("check, object level, hot     \(format(hotObjectNs)) ns/op (1000 requests repeated; median of 5 × 200000)")
print("check, model level           \(format(modelNs)) ns/op (random; median of 5 × \(modelChecks.count))")

let batches = stride(from: 0, to: objectChecks.count, by: 1000).map {
    Array(objectChecks[$0..<min($0 + 1000, objectChecks.count)])
}
let batchNs = measure(runs: 5, operations: objectChecks.count) {
    for batch in batches { consume(index.check(batch).value.count) }
}
figures.record("batch_check_decisions_per_second", 1e9 / batchNs)
print("check, batches of 1000       \(format(1e9 / batchNs / 1e6, 2))M decisions/s")

// MARK: Lists

func listNs(_ user: String, runs: Int) -> (Double, Int) {
    var query = ListObjectsQuery(subject: .user(user), permissions: ["lab.view_experiment", "lab.change_experiment"])
    query.anyPerm = true
    query.pageSize = Limits.maxPageSize
    var found = 0
    let ns = measure(runs: runs, operations: 1) {
        if case .objects(let pks, _) = try! index.listObjects(query).value { found = pks.count }
    }
    return (ns, found)
}
let (bigNs, bigFound) = listNs(userID(0), runs: 21)
figures.record("list_big_objects", Double(bigFound))
figures.record("list_big_ms", bigNs / 1e6)
print("listObjects, \(bigFound) objects      \(format(bigNs / 1e6, 2)) ms (median of 21)")
let smallNs = smallUsers.prefix(50).map { listNs(userID($0), runs: 21) }
figures.record("list_small_objects", Double(smallNs[0].1))
figures.record("list_small_us", median(smallNs.map(\.0)) / 1e3)
print(
    "listObjects, \(smallNs[0].1) objects         \(format(median(smallNs.map(\.0)) / 1e3, 2)) µs (median over 50 users)"
)

var subjectsQuery = ListSubjectsQuery(object: ObjectRef(contentType: "lab.experiment", pk: hotPK))
subjectsQuery.attachPerms = true
var subjectsFound = 0
let subjectsNs = measure(runs: 101, operations: 1) {
    subjectsFound = try! index.listSubjects(subjectsQuery).value.users.count
}
figures.record("list_subjects_users", Double(subjectsFound))
figures.record("list_subjects_us", subjectsNs / 1e3)
print("listSubjects, \(subjectsFound) users        \(format(subjectsNs / 1e3, 2)) µs (median of 101, attach_perms)")
consume(sink)
figures.write(to: options.jsonPath)
