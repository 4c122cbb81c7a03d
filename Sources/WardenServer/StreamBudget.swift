import Synchronization

/// The bytes of client streams (BulkGrant, BulkRevoke, PruneOrphans) the server holds, all
/// connections together, bounded by `ServerConfiguration.maxStreamBytesTotal`: without it, each
/// connection could hold `maxStreamBytes` and the process would grow without a bound.
final class StreamBudget: Sendable {
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    var bytes: Int { held.load(ordering: .relaxed) }

    /// One stream's part of the budget. It is returned when the share is released: when the
    /// stream is cancelled, refused or dropped with its connection, or when its commit has run and
    /// let go of the chunks.
    final class Share: Sendable {
        let budget: StreamBudget
        private let taken = Atomic<Int>(0)

        init(_ budget: StreamBudget) {
            self.budget = budget
        }

        /// Takes `count` more bytes; `false`, taking nothing, when the budget has no room for them.
        func take(_ count: Int) -> Bool {
            let total = budget.held.wrappingAdd(count, ordering: .relaxed).newValue
            guard total <= budget.limit else {
                budget.held.wrappingSubtract(count, ordering: .relaxed)
                return false
            }
            taken.wrappingAdd(count, ordering: .relaxed)
            return true
        }

        deinit {
            budget.held.wrappingSubtract(taken.load(ordering: .relaxed), ordering: .relaxed)
        }
    }
}
