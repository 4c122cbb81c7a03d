#if canImport(Glibc)
import Glibc
#endif

/// The size and shape options every benchmark takes (issue #20), and where its figures go:
///
///     --scale X            X × 1M grants, shared shape (the figures of docs/benchmarks.md)
///     --grants N           about N grants (`1000000`, `1M`, `5M`, `10M`, `500k`)
///     --shape S            `shared` (default) or `distinct` (BenchmarkDataSet.Shape)
///     --json PATH          also write the figures as one JSON object to PATH
///
/// Bad values stop the benchmark with a message naming the option and the rule.
public struct BenchmarkOptions: Sendable {
    /// The grants asked for (1M × scale, or `--grants`).
    public let grants: Int
    public let shape: BenchmarkDataSet.Shape
    /// The size as a fraction of the 1M-grant data set: what `--scale` was, or `grants / 1M`.
    public var scale: Double { Double(grants) / 1_000_000 }
    public let jsonPath: String?

    /// Reads `arguments` (the process's by default); other options are left to the benchmark.
    public init(arguments: [String] = CommandLine.arguments) {
        func value(_ option: String) -> String? {
            guard let position = arguments.firstIndex(of: option) else { return nil }
            guard position + 1 < arguments.count else { Self.stop("\(option) needs a value") }
            return arguments[position + 1]
        }
        var grants = 1_000_000
        if let text = value("--scale") {
            guard let scale = Double(text), scale > 0, scale <= 100 else {
                Self.stop("--scale: \"\(text)\" is not a number in (0, 100]")
            }
            grants = Int(scale * 1_000_000)
        }
        if let text = value("--grants") {
            guard let count = Self.count(text), count >= 1_000, count <= 100_000_000 else {
                Self.stop("--grants: \"\(text)\" is not a count from 1000 to 100M (such as 1000000, 5M, 500k)")
            }
            grants = count
        }
        var shape = BenchmarkDataSet.Shape.shared
        if let text = value("--shape") {
            guard let named = BenchmarkDataSet.Shape(rawValue: text) else {
                Self.stop("--shape: \"\(text)\" is not one of shared, distinct")
            }
            shape = named
        }
        self.grants = grants
        self.shape = shape
        jsonPath = value("--json")
    }

    /// The data set these options name.
    public func dataSet() throws -> BenchmarkDataSet { try BenchmarkDataSet(grants: grants, shape: shape) }

    /// `1000000`, `1M`, `5m`, `500k` as a count.
    static func count(_ text: String) -> Int? {
        let multipliers: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6]
        guard let last = text.last else { return nil }
        if let multiplier = multipliers[last] {
            guard let number = Double(text.dropLast()), number > 0 else { return nil }
            return Int(number * multiplier)
        }
        return Int(text)
    }

    private static func stop(_ message: String) -> Never {
        BenchmarkFigures.fail(message)
    }
}

/// Figures a benchmark prints, kept to be written as one JSON object (`--json`): the options'
/// size and shape, then each figure by name, in the order recorded.
public final class BenchmarkFigures {
    private var entries: [(String, String)] = []

    public init(benchmark: String, options: BenchmarkOptions) {
        entries.append(("benchmark", Self.quoted(benchmark)))
        entries.append(("grants_asked", String(options.grants)))
        entries.append(("shape", Self.quoted(options.shape.rawValue)))
    }

    /// Records `value` under `name` (a later record of the same name replaces it).
    public func record(_ name: String, _ value: Double) {
        let text = value.isFinite ? String(value) : "null"
        if let position = entries.firstIndex(where: { $0.0 == name }) {
            entries[position].1 = text
        } else {
            entries.append((name, text))
        }
    }

    /// Records a text value (a commit, a machine).
    public func record(_ name: String, text: String) {
        entries.removeAll { $0.0 == name }
        entries.append((name, Self.quoted(text)))
    }

    /// The figures as one JSON object, one figure a line.
    public var json: String {
        "{\n" + entries.map { "  \(Self.quoted($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// Writes `json` to `path`, if there is one; a failure stops the benchmark naming the path.
    public func write(to path: String?) {
        guard let path else { return }
        guard let file = fopen(path, "w") else { Self.fail("--json: cannot write \(path) (errno \(errno))") }
        fputs(json, file)
        fclose(file)
    }

    /// Prints `benchmark: message` on standard error and exits with status 2.
    static func fail(_ message: String) -> Never {
        var line = "benchmark: \(message)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
        exit(2)
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
