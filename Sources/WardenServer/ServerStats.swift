import Synchronization
import WardenProto

/// Requests and errors per method, and connections: what Stats reports. One lock for the
/// counters: a request costs one uncontended lock, far below the rest of its work.
final class ServerStats: Sendable {
    private struct Counts {
        var requests = [UInt64](repeating: 0, count: 64)
        var errors = [UInt64](repeating: 0, count: 64)
    }

    private let counts = Mutex(Counts())
    private let connectionCount = Atomic<Int>(0)
    let started = ContinuousClock.now

    func record(method: UInt16, failed: Bool) {
        let slot = Int(method) < 64 ? Int(method) : 0
        counts.withLock { counts in
            counts.requests[slot] &+= 1
            if failed { counts.errors[slot] &+= 1 }
        }
    }

    func connectionOpened() { connectionCount.add(1, ordering: .relaxed) }
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
