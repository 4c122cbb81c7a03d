/// A content type registration, as Django's `post_migrate` makes one: the type and its
/// permissions' codenames.
///
/// Registration is additive and idempotent: registering a type again adds new codenames and
/// never removes one.
public struct ContentType: Hashable, Sendable {
    /// The type, `app_label.model`.
    public let name: ContentTypeName
    /// Its codenames, distinct, in registration order: the defaults first, then the custom ones.
    public let codenames: [String]

    /// Registers `name` with the four defaults `add_`, `change_`, `delete_`, `view_<model>`
    /// (unless `defaults` is false) plus `custom` codenames.
    public init(name: ContentTypeName, defaults: Bool = true, custom: [String] = []) throws(ValidationError) {
        var codenames: [String] = defaults ? Self.defaultCodenames(model: name.model) : []
        // `change_` + a 94-character model would be a 101-character codename: refuse it here,
        // as Django's own 100-character codename field would.
        for codename in codenames {
            do throws(ValidationError) { try Limits.checkCodename(codename) } catch {
                throw ValidationError(
                    field: "content_type",
                    rule: "the model name makes the default codename \(codename.prefix(12))… longer than "
                        + "\(Limits.maxCodenameCharacters) characters; use a model of at most 93 characters or no defaults"
                )
            }
        }
        // Distinct by bytes (a Set of ExactString, not `contains` on an array: that was
        // quadratic, 80,000 codenames took 50 s to register and 25 s to load).
        var seen = Set(codenames.map(ExactString.init))
        for (position, codename) in custom.enumerated() {
            try Limits.checkCodename(codename, field: "custom[\(position)]")
            if seen.insert(ExactString(codename)).inserted { codenames.append(codename) }
        }
        guard codenames.count <= Limits.maxCodenamesPerContentType else { throw Self.tooMany(codenames.count) }
        self.name = name
        self.codenames = codenames
    }

    /// A type as stored: `codenames` were validated when they were registered and are kept as
    /// they are (made distinct by bytes), without the cap. The cap applies to requests, not to
    /// what a database holds: a file written before the cap existed, or by another binary, may
    /// hold more, and reading it (a snapshot, the changelog, an export) must never fail or crash.
    public init(stored name: ContentTypeName, codenames: [String]) {
        var seen = Set<ExactString>()
        self.name = name
        self.codenames = codenames.filter { seen.insert(ExactString($0)).inserted }
    }

    /// The error for a type with more codenames than `Limits.maxCodenamesPerContentType`.
    public static func tooMany(_ count: Int) -> ValidationError {
        ValidationError(
            field: "custom",
            rule: "a content type holds at most \(Limits.maxCodenamesPerContentType) codenames, its defaults and "
                + "earlier registrations' included (got \(count))"
        )
    }

    /// The four defaults of Django's `Meta.default_permissions` for `model`.
    public static func defaultCodenames(model: String) -> [String] {
        ["add_\(model)", "change_\(model)", "delete_\(model)", "view_\(model)"]
    }
}
