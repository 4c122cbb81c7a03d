import CoreMetrics
import Foundation
import Testing

@testable import WardenTelemetry

@Suite("Metrics registry")
struct MetricsRegistryTests {
    @Test("counters add up, share a series across handlers, and render with their labels")
    func counters() {
        let registry = MetricsRegistry()
        let allowed = Counter(label: "warden.checks", dimensions: [("result", "allow"), ("method", "check")], factory: registry)
        let again = Counter(label: "warden.checks", dimensions: [("method", "check"), ("result", "allow")], factory: registry)
        let denied = Counter(label: "warden.checks", dimensions: [("result", "deny"), ("method", "check")], factory: registry)
        allowed.increment(by: 5)
        again.increment()
        denied.increment(by: 2)
        #expect(
            registry.prometheusText() == """
                # TYPE warden_checks counter
                warden_checks{method="check",result="allow"} 6
                warden_checks{method="check",result="deny"} 2

                """
        )
        allowed.reset()
        #expect(registry.snapshot().map(\.value) == [0, 2])
    }

    @Test("floating-point counters and the integer counter of one series sum; negative increments are ignored")
    func floatingPointCounters() {
        let registry = MetricsRegistry()
        let bytes = FloatingPointCounter(label: "warden.bytes", factory: registry)
        bytes.increment(by: 1.5)
        bytes.increment(by: 0.25)
        registry.makeCounter(label: "warden.bytes", dimensions: []).increment(by: 2)
        registry.makeCounter(label: "warden.bytes", dimensions: []).increment(by: -10)
        #expect(registry.prometheusText() == "# TYPE warden_bytes counter\nwarden_bytes 3.75\n")
    }

    @Test("gauges keep the last value; meters go up and down")
    func gauges() throws {
        let registry = MetricsRegistry()
        let gauge = Gauge(label: "warden.revision", factory: registry)
        gauge.record(10)
        gauge.record(42)
        let meter = Meter(label: "warden.watchers", dimensions: [("kind", "stream")], factory: registry)
        meter.set(3)
        meter.increment(by: 2)
        meter.decrement()
        meter.decrement(by: 0.5)
        let samples = registry.snapshot()
        #expect(samples.map(\.name) == ["warden_revision", "warden_watchers"])
        #expect(samples.map(\.kind) == [.gauge, .gauge])
        #expect(samples.map(\.value) == [42, 3.5])
        #expect(samples[1].labels == ["kind": "stream"])
        #expect(registry.prometheusText().contains("# TYPE warden_watchers gauge\nwarden_watchers{kind=\"stream\"} 3.5\n"))
    }

    @Test("timer buckets are cumulative in seconds, end with +Inf, and agree with _count and _sum")
    func timerHistogram() throws {
        let registry = MetricsRegistry()
        let timer = Timer(label: "warden.check.duration", dimensions: [("method", "check")], factory: registry)
        timer.recordNanoseconds(5_000)  // 5 µs: the first bucket
        timer.recordMicroseconds(10)  // exactly 10 µs: le is inclusive
        timer.recordMilliseconds(3)  // 0.003 s: le="0.005"
        timer.recordSeconds(2)  // le="2.5"
        timer.recordSeconds(60)  // only +Inf
        let sample = try #require(registry.snapshot().first)
        #expect(sample.name == "warden_check_duration_seconds" && sample.kind == .timer && sample.label == "warden.check.duration")
        #expect(sample.count == 5)
        #expect(abs(sample.sum - 62.003015) < 1e-9)
        #expect(sample.buckets.count == MetricsRegistry.defaultTimerBuckets.count + 1)
        #expect(sample.buckets.last == HistogramBucket(upperBound: .infinity, cumulativeCount: 5))
        let counts = Dictionary(uniqueKeysWithValues: sample.buckets.map { ($0.upperBound, $0.cumulativeCount) })
        #expect(counts[0.00001] == 2)
        #expect(counts[0.0025] == 2)
        #expect(counts[0.005] == 3)
        #expect(counts[1] == 3)
        #expect(counts[2.5] == 4)
        #expect(counts[10] == 4)
        #expect(zip(sample.buckets, sample.buckets.dropFirst()).allSatisfy { $0.cumulativeCount <= $1.cumulativeCount })

        let text = registry.prometheusText()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "# TYPE warden_check_duration_seconds histogram")
        #expect(lines.filter { $0.hasPrefix("# TYPE") }.count == 1)
        #expect(lines[1] == #"warden_check_duration_seconds_bucket{method="check",le="1e-05"} 2"#)
        #expect(lines.contains(#"warden_check_duration_seconds_bucket{method="check",le="0.005"} 3"#))
        #expect(lines.contains(#"warden_check_duration_seconds_bucket{method="check",le="1"} 3"#))
        #expect(lines.contains(#"warden_check_duration_seconds_bucket{method="check",le="2.5"} 4"#))
        #expect(lines.contains(#"warden_check_duration_seconds_bucket{method="check",le="+Inf"} 5"#))
        #expect(lines.last == #"warden_check_duration_seconds_count{method="check"} 5"#)
        #expect(lines.dropLast().last?.hasPrefix(#"warden_check_duration_seconds_sum{method="check"} 62.00301"#) == true)
        #expect(lines.count == 1 + 20 + 2)
    }

    @Test("a timer label already ending in _seconds is not suffixed twice")
    func timerSuffix() {
        let registry = MetricsRegistry()
        registry.makeTimer(label: "warden.wait_seconds", dimensions: []).recordNanoseconds(1)
        #expect(registry.snapshot().map(\.name) == ["warden_wait_seconds"])
    }

    @Test("aggregating recorders are histograms over the recorder buckets, or custom ones")
    func recorderHistogram() throws {
        let registry = MetricsRegistry(recorderBuckets: [10, 1, 100, .infinity, 10])
        #expect(registry.recorderBuckets == [1, 10, 100])
        let sizes = Recorder(label: "warden.batch.size", factory: registry)
        for value in [1, 2, 10, 11, 100, 1000] { sizes.record(value) }
        let sample = try #require(registry.snapshot().first)
        #expect(sample.kind == .histogram && sample.name == "warden_batch_size")
        #expect(sample.buckets.map(\.cumulativeCount) == [1, 3, 5, 6])
        #expect(sample.sum == 1124 && sample.count == 6)
        #expect(registry.prometheusText().hasPrefix("# TYPE warden_batch_size histogram\nwarden_batch_size_bucket{le=\"1\"} 1\n"))
    }

    @Test("label values are escaped; names and label names are sanitized")
    func escapingAndNames() {
        let registry = MetricsRegistry()
        registry.makeCounter(
            label: "warden.odd-name/x",
            dimensions: [("path", "C:\\dir \"quoted\"\nnext"), ("user.id", "é"), ("1st", "x")]
        ).increment(by: 1)
        registry.makeTimer(label: "9lives", dimensions: [("le", "mine")]).recordNanoseconds(1_000_000_000)
        let text = registry.prometheusText()
        #expect(text.contains(#"warden_odd_name_x{_1st="x",path="C:\\dir \"quoted\"\nnext",user_id="é"} 1"#))
        #expect(text.contains(#"_9lives_seconds_bucket{_le="mine",le="1"} 1"#))
        #expect(text.split(separator: "\n").count == text.components(separatedBy: "\n").count - 1)
    }

    @Test("output is sorted by family and labels whatever the order metrics were made in")
    func deterministicOrdering() {
        func populate(_ registry: MetricsRegistry, reversed: Bool) {
            var steps: [() -> Void] = [
                { registry.makeCounter(label: "b.requests", dimensions: [("method", "write")]).increment(by: 1) },
                { registry.makeCounter(label: "b.requests", dimensions: [("method", "check")]).increment(by: 2) },
                { registry.makeCounter(label: "b.requests", dimensions: []).increment(by: 3) },
                { registry.makeRecorder(label: "a.revision", dimensions: [], aggregate: false).record(Int64(7)) },
                { registry.makeTimer(label: "c.latency", dimensions: [("z", "1"), ("a", "2")]).recordNanoseconds(1_000) },
                { registry.makeTimer(label: "c.latency", dimensions: [("a", "1")]).recordNanoseconds(1_000) },
            ]
            if reversed { steps.reverse() }
            for step in steps { step() }
        }
        let first = MetricsRegistry()
        let second = MetricsRegistry()
        populate(first, reversed: false)
        populate(second, reversed: true)
        let text = first.prometheusText()
        #expect(text == second.prometheusText())
        #expect(first.snapshot() == second.snapshot())
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE") }
        #expect(types == ["# TYPE a_revision gauge", "# TYPE b_requests counter", "# TYPE c_latency_seconds histogram"])
        let requests = text.split(separator: "\n").filter { $0.hasPrefix("b_requests") }
        #expect(requests == ["b_requests 3", #"b_requests{method="check"} 2"#, #"b_requests{method="write"} 1"#])
        let counts = text.split(separator: "\n").filter { $0.hasPrefix("c_latency_seconds_count") }
        #expect(counts == [#"c_latency_seconds_count{a="1"} 1"#, #"c_latency_seconds_count{a="2",z="1"} 1"#])
    }

    @Test("destroy removes the series, and the family with its last series")
    func destroy() {
        let registry = MetricsRegistry()
        let kept = Counter(label: "warden.kept", factory: registry)
        let gone = Counter(label: "warden.gone", dimensions: [("a", "1")], factory: registry)
        let other = Counter(label: "warden.gone", dimensions: [("a", "2")], factory: registry)
        let timer = Timer(label: "warden.t", factory: registry)
        let meter = Meter(label: "warden.m", factory: registry)
        let recorder = Recorder(label: "warden.r", factory: registry)
        kept.increment()
        gone.increment()
        other.increment()
        gone.destroy()
        #expect(registry.snapshot().filter { $0.name == "warden_gone" }.map(\.labels) == [["a": "2"]])
        other.destroy()
        timer.destroy()
        meter.destroy()
        recorder.destroy()
        #expect(registry.prometheusText() == "# TYPE warden_kept counter\nwarden_kept 1\n")
        // A destroyed handler keeps working but is no longer reported; making it again starts at 0.
        gone.increment(by: 10)
        let remade = Counter(label: "warden.gone", dimensions: [("a", "1")], factory: registry)
        #expect(registry.snapshot().first { $0.name == "warden_gone" }?.value == 0)
        gone.destroy()  // the stale handler does not remove the new series
        remade.increment()
        #expect(registry.snapshot().first { $0.name == "warden_gone" }?.value == 1)
        kept.destroy()
        remade.destroy()
        #expect(registry.prometheusText().isEmpty && registry.snapshot().isEmpty)
    }

    @Test("a label reused for another kind gets a working handler that is not reported")
    func kindConflict() {
        let registry = MetricsRegistry()
        Counter(label: "warden.requests", factory: registry).increment(by: 4)
        let gauge = Gauge(label: "warden.requests", factory: registry)
        gauge.record(99)
        #expect(registry.prometheusText() == "# TYPE warden_requests counter\nwarden_requests 4\n")
    }

    @Test("special values render as Prometheus spells them")
    func numbers() {
        #expect(MetricsRegistry.prometheusNumber(.nan) == "NaN")
        #expect(MetricsRegistry.prometheusNumber(.infinity) == "+Inf")
        #expect(MetricsRegistry.prometheusNumber(-.infinity) == "-Inf")
        #expect(MetricsRegistry.prometheusNumber(-3) == "-3")
        #expect(MetricsRegistry.prometheusNumber(0.000025) == "2.5e-05")
        #expect(MetricsRegistry.prometheusNumber(1e20) == "1e+20")
    }

    @Test("100,000 increments from many threads give the exact total", .timeLimit(.minutes(1)))
    func concurrentCounter() {
        let registry = MetricsRegistry()
        let iterations = 100_000
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            // Each worker makes its own handlers: making is concurrent with updating.
            let counter = Counter(label: "warden.concurrent", dimensions: [("kind", "total")], factory: registry)
            let timer = Timer(label: "warden.concurrent.duration", factory: registry)
            let own = Counter(label: "warden.per.worker", dimensions: [("worker", "\(worker)")], factory: registry)
            for index in stride(from: worker, to: iterations, by: 16) {
                counter.increment()
                own.increment()
                timer.recordNanoseconds(Int64(index % 3) * 1_000_000)
                if index % 1000 == 0 { _ = registry.prometheusText() }
            }
        }
        let samples = registry.snapshot()
        #expect(samples.first { $0.name == "warden_concurrent" }?.value == Double(iterations))
        let timer = samples.first { $0.name == "warden_concurrent_duration_seconds" }
        #expect(timer?.count == UInt64(iterations))
        #expect(timer?.buckets.last?.cumulativeCount == UInt64(iterations))
        let perWorker = samples.filter { $0.name == "warden_per_worker" }
        #expect(perWorker.count == 16)
        #expect(perWorker.map(\.value).reduce(0, +) == Double(iterations))
        #expect(registry.prometheusText().contains("warden_concurrent{kind=\"total\"} 100000\n"))
    }
}
