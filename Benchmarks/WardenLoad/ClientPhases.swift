import WardenClient
import WardenProto

/// The phases of `WardenClient`, the async Swift client an app beside the sidecar uses, measured
/// from the executors an app's code runs on: the global pool (a plain task, as a Vapor or
/// Hummingbird handler), the main actor, and a task that prefers the connection's event loop.
enum ClientPhases {
    /// One-in-flight Checks, cycling over `checks`, on `actor` (the main actor), or when `nil`
    /// on the executor the task prefers (the global pool when none): the round trips in
    /// nanoseconds, the first tenth (warm-up) left out.
    static func roundTrips(
        _ warden: WardenConnection,
        _ checks: [Warden_V1_CheckRequest],
        rounds: Int,
        on actor: isolated (any Actor)?
    ) async throws -> [UInt64] {
        var samples: [UInt64] = []
        samples.reserveCapacity(rounds)
        for i in 0..<rounds {
            let start = DispatchTimeNanos.now()
            _ = try await warden.check(checks[i % checks.count])
            if i >= rounds / 10 { samples.append(DispatchTimeNanos.now() - start) }
        }
        return samples
    }

    /// `tasks` tasks on one connection, each with one Check in flight, for `seconds` (each task
    /// prefers `executor` when given): Checks per second.
    static func pipelined(
        _ warden: WardenConnection,
        _ checks: [Warden_V1_CheckRequest],
        tasks: Int,
        seconds: Double,
        executor: (any TaskExecutor)?
    ) async throws -> Double {
        let start = DispatchTimeNanos.now()
        let end = start + UInt64(seconds * 1e9)
        let count = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask(executorPreference: executor) {
                    var done = 0
                    var next = task
                    while DispatchTimeNanos.now() < end {
                        _ = try await warden.check(checks[next % checks.count])
                        next += tasks
                        done += 1
                    }
                    return done
                }
            }
            var total = 0
            for try await done in group { total += done }
            return total
        }
        return Double(count) / (Double(DispatchTimeNanos.now() - start) / 1e9)
    }
}
