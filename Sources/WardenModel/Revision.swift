/// A position in Warden's history: every committed write gets the next revision, and every
/// read is evaluated at one. Revision 0 is the empty state before any write.
public struct Revision: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// The state before any write.
    public static let zero = Revision(0)

    /// The revision after this one.
    public var next: Revision { Revision(rawValue + 1) }

    public static func < (lhs: Revision, rhs: Revision) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
