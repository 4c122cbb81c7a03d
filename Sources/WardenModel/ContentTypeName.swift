/// A content type's identity, `app_label.model`, lowercase (`drivers.car`).
public struct ContentTypeName: Hashable, Sendable, CustomStringConvertible {
    /// The Django app label, `drivers` in `drivers.car`.
    public let appLabel: String
    /// The model name, `car` in `drivers.car`.
    public let model: String
    /// `app_label.model`, kept whole so lookups do not rebuild it.
    public let description: String

    /// Parses `app_label.model`; each part 1..100 characters of `[a-z0-9_]`.
    public init(_ string: String, field: String = "content_type") throws(ValidationError) {
        let parts = string.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2, Limits.isContentTypePart(parts[0].utf8), Limits.isContentTypePart(parts[1].utf8) else {
            throw ValidationError(
                field: field,
                rule: "must be app_label.model, each part 1..\(Limits.maxContentTypePartCharacters) "
                    + "characters of [a-z0-9_] (got \"\(string)\")"
            )
        }
        self.appLabel = String(parts[0])
        self.model = String(parts[1])
        self.description = string
    }
}
