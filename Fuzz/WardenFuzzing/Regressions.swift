import Foundation

/// Inputs that once broke a property (a crash, a disagreement), one file each in
/// `Fuzz/regressions/<target>/`: the random-bytes tests replay them all, and `scripts/fuzz.sh`
/// adds them to the fuzzers' starting corpus. A crash the fuzzer finds is copied there with a
/// name that says what it was.
public enum Regressions {
    /// The folder of `target`'s regressions (`frames`, `requests`, `import`), found from this
    /// source file: the tests run in the checkout.
    public static func folder(_ target: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("regressions").appendingPathComponent(target)
    }

    /// Every regression input of `target`, by file name, sorted.
    public static func inputs(_ target: String) -> [(name: String, input: [UInt8])] {
        let folder = folder(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }
}
