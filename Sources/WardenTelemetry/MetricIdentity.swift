/// How a swift-metrics label and dimensions become a Prometheus family name and label set.
///
/// Prometheus metric names are `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names `[a-zA-Z_][a-zA-Z0-9_]*`;
/// every other character becomes `_`, so `warden.check.duration` is `warden_check_duration`,
/// and a leading digit gets a `_` in front. Label values are kept as they are and escaped only
/// when rendered.
enum MetricIdentity {
    /// The family name of a metric: the label with invalid characters replaced, and for a
    /// timer the unit suffix `_seconds` unless the label already ends with it.
    static func familyName(label: String, kind: MetricKind) -> String {
        var name = sanitize(label, allowColon: true)
        if kind == .timer && !name.hasSuffix("_seconds") {
            name += "_seconds"
        }
        return name
    }

    /// `text` with every character outside `[a-zA-Z0-9_]` (and `:` when allowed) replaced by
    /// `_`, and a `_` in front of a leading digit or of an empty string.
    static func sanitize(_ text: String, allowColon: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_": result.unicodeScalars.append(scalar)
            case ":" where allowColon: result.unicodeScalars.append(scalar)
            default: result += "_"
            }
        }
        if let first = result.unicodeScalars.first, ("0"..."9").contains(first) {
            result = "_" + result
        }
        return result.isEmpty ? "_" : result
    }
}

/// The labels of one series: dimension names sanitized, sorted by name, one value per name.
///
/// Two metrics with the same dimensions in a different order are the same series, as in
/// Prometheus. When two dimensions end up with the same name the later one wins.
struct LabelSet: Hashable, Comparable, Sendable {
    /// One label: its Prometheus name and its raw (unescaped) value.
    struct Label: Hashable, Sendable {
        let name: String
        let value: String
    }

    /// The labels in increasing order of name.
    let labels: [Label]

    /// The label set of `dimensions`. For histograms, whose buckets carry the label `le`, a
    /// dimension named `le` is renamed `_le` so the two never clash.
    init(_ dimensions: [(String, String)], histogram: Bool = false) {
        var byName: [String: String] = [:]
        for (key, value) in dimensions {
            var name = MetricIdentity.sanitize(key, allowColon: false)
            if histogram && name == "le" { name = "_le" }
            byName[name] = value
        }
        self.labels = byName.keys.sorted(by: Self.byteOrder).map { Label(name: $0, value: byName[$0]!) }
    }

    /// The labels as a dictionary, for ``MetricSample``.
    var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: self.labels.map { ($0.name, $0.value) })
    }

    /// Byte order of names, then values, label by label; a prefix sorts first.
    static func < (lhs: LabelSet, rhs: LabelSet) -> Bool {
        for (left, right) in zip(lhs.labels, rhs.labels) {
            if left.name != right.name { return byteOrder(left.name, right.name) }
            if left.value != right.value { return byteOrder(left.value, right.value) }
        }
        return lhs.labels.count < rhs.labels.count
    }

    /// Orders strings by their UTF-8 bytes: independent of locale and Unicode normalization.
    static func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}
