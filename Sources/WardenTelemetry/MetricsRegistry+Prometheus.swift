extension MetricsRegistry {
    /// The registry in the Prometheus text exposition format, version 0.0.4: serve it with
    /// `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
    ///
    /// Each family has one `# TYPE` line followed by its series; families are sorted by name
    /// and series by labels, so the same state always renders the same text. For example:
    ///
    /// ```text
    /// # TYPE warden_check_duration_seconds histogram
    /// warden_check_duration_seconds_bucket{method="check",le="1e-05"} 0
    /// …
    /// warden_check_duration_seconds_bucket{method="check",le="+Inf"} 3
    /// warden_check_duration_seconds_sum{method="check"} 0.0042
    /// warden_check_duration_seconds_count{method="check"} 3
    /// # TYPE warden_requests counter
    /// warden_requests{method="check"} 12
    /// ```
    ///
    /// Names are the swift-metrics labels with every character outside `[a-zA-Z0-9_:]` turned
    /// into `_` (`warden.check.duration` → `warden_check_duration`), timers suffixed `_seconds`
    /// unless already so named; dimension names likewise, with values escaped (`\\`, `\"`,
    /// `\n`). Histogram buckets are cumulative and end with `le="+Inf"`, whose count equals
    /// `_count`. An empty registry renders as the empty string; otherwise the text ends with a
    /// newline.
    public func prometheusText() -> String {
        var text = ""
        for (name, family) in Self.sorted(self.currentFamilies()) {
            text += "# TYPE \(name) \(family.kind.prometheusType)\n"
            for (labels, series) in Self.sorted(family.series) {
                switch series.box {
                case .counter(let box):
                    let value = box.value
                    let rendered =
                        value.fraction == 0
                        ? String(value.integer) : Self.prometheusNumber(Double(value.integer) + value.fraction)
                    text += "\(name)\(Self.render(labels)) \(rendered)\n"
                case .gauge(let box):
                    text += "\(name)\(Self.render(labels)) \(Self.prometheusNumber(box.value))\n"
                case .histogram(let box):
                    let state = box.value
                    for bucket in Self.cumulativeBuckets(bounds: box.bounds, counts: state.counts) {
                        let le = Self.prometheusNumber(bucket.upperBound)
                        text += "\(name)_bucket\(Self.render(labels, le: le)) \(bucket.cumulativeCount)\n"
                    }
                    text += "\(name)_sum\(Self.render(labels)) \(Self.prometheusNumber(state.sum))\n"
                    text += "\(name)_count\(Self.render(labels)) \(state.count)\n"
                }
            }
        }
        return text
    }

    /// `{a="1",b="2"}`, with `le` last when given; nothing for no labels.
    static func render(_ labels: LabelSet, le: String? = nil) -> String {
        var parts = labels.labels.map { "\($0.name)=\"\(escapeLabelValue($0.value))\"" }
        if let le { parts.append("le=\"\(le)\"") }
        return parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
    }

    /// A label value as the exposition format wants it: `\` as `\\`, `"` as `\"`, and a
    /// newline as `\n`.
    static func escapeLabelValue(_ value: String) -> String {
        var result = ""
        result.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// A sample value or bound: `+Inf`, `-Inf` and `NaN` spelled as Prometheus spells them,
    /// whole numbers without a fraction (`1`, not `1.0`), others in Swift's shortest
    /// round-tripping form (`0.25`, `1e-05`), which Prometheus parses.
    static func prometheusNumber(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
