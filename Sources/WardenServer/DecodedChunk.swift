import WardenModel
import WardenSync

/// The grants of one chunk of a bulk stream, its `actor` field, and how many grants came before
/// it in the stream.
struct DecodedChunk: Sendable {
    let grants: DecodedGrants
    let actor: String
    let offset: Int

    init(grants: [Grant], actor: String, offset: Int) {
        self.grants = DecodedGrants(grants)
        self.actor = actor
        self.offset = offset
    }

    /// The grants of the stream up to and including this chunk.
    var end: Int { offset + grants.count }

    static let none = DecodedChunk(grants: [], actor: "", offset: 0)
}

/// A chunk's grants, handed over once: the commit takes them out of the chunk's future, so the
/// future does not keep a second copy alive while the stream's grants are put in one array.
final class DecodedGrants: Sendable {
    let count: Int
    private let grants: Locked<[Grant]>

    init(_ grants: [Grant]) {
        count = grants.count
        self.grants = Locked(grants)
    }

    /// The grants; later calls get none.
    func take() -> [Grant] {
        grants.withLock { grants in
            var taken: [Grant] = []
            swap(&taken, &grants)
            return taken
        }
    }
}
