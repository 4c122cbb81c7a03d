import WardenModel

extension BackedStore {
    /// Records a `WRITE_REFUSED` event at the next revision: a write whose actor may not make it
    /// (DESIGN.md §1 "No self-escalation"). Nothing else changes. `attempted` is the refused
    /// change when it was one change; `nil` for a refused bulk call.
    public func recordRefusal(
        attempted: Change?,
        message: String,
        actor: String?,
        ifAt expected: Revision?
    )
        throws(StoreError) -> ChangeEvent
    {
        try writing { writer in
            let current = try writer.latestRevision()
            if let expected, expected != current { throw StoreError.moved(from: expected, to: current) }
            let revision = current.next
            let event = ChangeEvent(
                revision: revision,
                kind: .writeRefused,
                time: StoreClock.now(),
                attempted: attempted,
                message: message,
                actor: actor
            )
            try record(writer, event)
            return event
        }
    }
}
