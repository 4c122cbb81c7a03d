/// A field that breaks its rule: the error every layer reports as `INVALID_ARGUMENT`.
///
/// `field` is the field's name as the API spells it (`user.id`, `object.pk`, `content_type`),
/// `rule` says what it must be and what it was, so the message alone tells a client what to fix.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The offending field, as the API names it.
    public var field: String
    /// The rule it breaks, e.g. `must be 1..255 bytes of UTF-8 (got 0)`.
    public var rule: String

    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }

    public var description: String { "\(field): \(rule)" }
}
