import Metrics
import Synchronization
import WardenProto
import WardenSync

#if canImport(Glibc)
import Glibc
#endif

/// Requests and errors per method, latencies, and connections: what Stats reports, and what
/// goes to swift-metrics (`warden.requests`, `warden.errors`, `warden.request.duration.seconds`,
/// all with a `method` dimension; errors also with `status`; `warden.watchers_cut_off`).
/// Counting costs one uncontended lock and a histogram update per request, far below the rest
/// of its work. The labels carry their unit: the Prometheus backend adds no suffix.
final class ServerStats: Sendable {
    private struct Counts {
        var requests = [UInt64](repeating: 0, count: 64)
        var errors = [UInt64](repeating: 0, count: 64)
        var errorCounters: [Int: Counter] = [:]
    }

    private let counts = Locked(Counts())
    private let connectionCount = Atomic<Int>(0)
    /// Requests running on the pool, for a graceful shutdown to wait for.
    let running = Atomic<Int>(0)
    let started = ContinuousClock.now
    private let requestCounters: [Counter?]
    private let durations: [Metrics.Timer?]
    /// Watchers cut off for leaving more than `maxWatchBacklogBytes` unread.
    private let cutOffWatchers = Counter(label: "warden.watchers_cut_off")

    init() {
        var counters: [Counter?] = []
        var timers: [Metrics.Timer?] = []
        for slot in 0..<64 {
            guard let method = Warden_V1_Method(rawValue: slot), method.isKnown else {
                counters.append(nil)
                timers.append(nil)
                continue
            }
            counters.append(Counter(label: "warden.requests", dimensions: [("method", "\(method)")]))
            let dimensions = [("method", "\(method)")]
            timers.append(Metrics.Timer(label: "warden.request.duration.seconds", dimensions: dimensions))
        }
        requestCounters = counters
        durations = timers
    }

    /// Monotonic nanoseconds, for request latencies.
    @inline(__always)
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// One answered request: its method, whether it failed (and how), and when it started.
    func record(method: UInt16, status: UInt8 = 0, started: UInt64) {
        let slot = Int(method) < 64 ? Int(method) : 0
        let failed = status != 0
        let errorCounter: Counter? = counts.withLock { counts in
            counts.requests[slot] &+= 1
            guard failed else { return nil }
            counts.errors[slot] &+= 1
            let key = slot << 8 | Int(status)
            if let counter = counts.errorCounters[key] { return counter }
            let methodName = Warden_V1_Method(rawValue: slot).map { "\($0)" } ?? "unknown"
            let counter = Counter(
                label: "warden.errors",
                dimensions: [("method", methodName), ("status", "\(status)")]
            )
            counts.errorCounters[key] = counter
            return counter
        }
        requestCounters[slot]?.increment()
        errorCounter?.increment()
        durations[slot]?.recordNanoseconds(Int64(Self.now() &- started))
    }

    /// Counts a watcher cut off for reading too slowly.
    func watcherCutOff() { cutOffWatchers.increment() }

    /// Counts a new connection; returns how many are open with it.
    func connectionOpened() -> Int { connectionCount.wrappingAdd(1, ordering: .relaxed).newValue }
    func connectionClosed() { connectionCount.subtract(1, ordering: .relaxed) }
    var connections: Int { connectionCount.load(ordering: .relaxed) }

    /// Per-method figures, for methods that served at least one request.
    var methods: [Warden_V1_MethodStats] {
        counts.withLock { counts in
            (0..<64).compactMap { slot in
                guard counts.requests[slot] > 0 else { return nil }
                var stats = Warden_V1_MethodStats()
                stats.method = Warden_V1_Method(rawValue: slot).map { "\($0)" } ?? "unknown"
                stats.requests = counts.requests[slot]
                stats.errors = counts.errors[slot]
                return stats
            }
        }
    }
}
