import CoreMetrics
import Prometheus
import Testing
import WardenTelemetry

/// The metrics backend as the daemon sets it up (`Telemetry.makeMetricsFactory`): swift-prometheus
/// with Warden's buckets. What the exposition looks like is what dashboards and alert rules read
/// (docs/cli.md "Metrics", docs/operations.md).
@Suite("Metrics backend")
struct MetricsBackendTests {
    private func backend() -> (PrometheusCollectorRegistry, PrometheusMetricsFactory) {
        let registry = PrometheusCollectorRegistry()
        return (registry, Telemetry.makeMetricsFactory(registry: registry))
    }

    /// The lines of the exposition, without the order swift-prometheus gives families.
    private func lines(_ registry: PrometheusCollectorRegistry) -> [String] {
        registry.emitToString().split(separator: "\n").map(String.init)
    }

    @Test("a timer is a histogram in seconds over Warden's buckets, 10 µs to 10 s")
    func timerBuckets() throws {
        let (registry, factory) = backend()
        let timer = CoreMetrics.Timer(
            label: "warden.request.duration.seconds",
            dimensions: [("method", "check")],
            factory: factory
        )
        timer.recordNanoseconds(30_000)  // 30 µs: in the 50 µs bucket and above
        timer.recordNanoseconds(3_000_000)  // 3 ms: in the 5 ms bucket and above
        let text = lines(registry)
        #expect(text.contains("# TYPE warden_request_duration_seconds histogram"))
        let buckets = text.filter { $0.hasPrefix("warden_request_duration_seconds_bucket{") }
        let bounds = buckets.map { line in
            String(line.split(separator: "le=\"")[1].prefix { $0 != "\"" })
        }
        #expect(
            bounds == [
                "0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
                "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf",
            ]
        )
        #expect(buckets.count == Telemetry.timerBuckets.count + 1)
        #expect(text.contains(#"warden_request_duration_seconds_bucket{method="check",le="0.000025"} 0"#))
        #expect(text.contains(#"warden_request_duration_seconds_bucket{method="check",le="0.00005"} 1"#))
        #expect(text.contains(#"warden_request_duration_seconds_bucket{method="check",le="0.0025"} 1"#))
        #expect(text.contains(#"warden_request_duration_seconds_bucket{method="check",le="0.005"} 2"#))
        #expect(text.contains(#"warden_request_duration_seconds_bucket{method="check",le="+Inf"} 2"#))
        #expect(text.contains(#"warden_request_duration_seconds_sum{method="check"} 0.00303"#))
        #expect(text.contains(#"warden_request_duration_seconds_count{method="check"} 2"#))
    }

    @Test("counters and gauges keep the dotted label as their name, with no suffix added")
    func namesAndLabels() {
        let (registry, factory) = backend()
        let checks = CoreMetrics.Counter(label: "warden.requests", dimensions: [("method", "check")], factory: factory)
        let errors = CoreMetrics.Counter(
            label: "warden.errors",
            dimensions: [("method", "grant"), ("status", "3")],
            factory: factory
        )
        let gauge = CoreMetrics.Gauge(label: "warden.index.grants", factory: factory)
        checks.increment()
        checks.increment(by: 2)
        errors.increment()
        gauge.record(42)
        let text = lines(registry)
        #expect(text.contains("# TYPE warden_requests counter"))
        #expect(text.contains(#"warden_requests{method="check"} 3"#))
        #expect(text.contains("# TYPE warden_errors counter"))
        #expect(text.contains(#"warden_errors{method="grant",status="3"} 1"#))
        #expect(text.contains("# TYPE warden_index_grants gauge"))
        #expect(text.contains("warden_index_grants 42.0"))
        #expect(!text.contains { $0.contains("_total") })
    }

    @Test("the same label and dimensions make one series; a label value is escaped")
    func seriesAndEscaping() {
        let (registry, factory) = backend()
        CoreMetrics.Counter(label: "warden.requests", dimensions: [("method", "check")], factory: factory).increment()
        CoreMetrics.Counter(label: "warden.requests", dimensions: [("method", "check")], factory: factory).increment()
        let odd = [("method", "a\"b\\c\nd")]
        CoreMetrics.Counter(label: "warden.requests", dimensions: odd, factory: factory).increment()
        let text = lines(registry)
        #expect(text.filter { $0.hasPrefix("warden_requests{") }.count == 2)
        #expect(text.contains(#"warden_requests{method="check"} 2"#))
        #expect(text.contains(#"warden_requests{method="a\"b\\c\nd"} 1"#))
    }

    @Test("an aggregating recorder is a histogram over the unitless buckets")
    func recorderBuckets() {
        let (registry, factory) = backend()
        let recorder = CoreMetrics.Recorder(label: "warden.batch.size", factory: factory)
        recorder.record(3)
        let buckets = lines(registry).filter { $0.hasPrefix("warden_batch_size_bucket{") }
        #expect(buckets.count == Telemetry.recorderBuckets.count + 1)
        #expect(buckets.first == #"warden_batch_size_bucket{le="1.0"} 0"#)
        #expect(buckets.contains(#"warden_batch_size_bucket{le="5.0"} 1"#))
        #expect(buckets.last == #"warden_batch_size_bucket{le="+Inf"} 1"#)
    }

    @Test("a destroyed metric leaves the exposition")
    func destroy() {
        let (registry, factory) = backend()
        let counter = CoreMetrics.Counter(label: "warden.gone", factory: factory)
        counter.increment()
        #expect(lines(registry).contains("warden_gone 1"))
        counter.destroy()
        #expect(registry.emitToString().isEmpty)
    }
}
