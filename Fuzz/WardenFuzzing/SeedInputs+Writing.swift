import Foundation

extension SeedInputs {
    /// When `WARDEN_FUZZ_WRITE_SEEDS` names a folder, writes `seeds` there (one file each) and
    /// exits: how `scripts/fuzz.sh --write-seeds` regenerates the committed corpus. Called from
    /// each target's `LLVMFuzzerInitialize`.
    public static func writeIfAsked(_ seeds: [(name: String, input: [UInt8])]) {
        guard let folder = ProcessInfo.processInfo.environment["WARDEN_FUZZ_WRITE_SEEDS"] else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for seed in seeds {
                try Data(seed.input).write(to: URL(fileURLWithPath: folder).appendingPathComponent(seed.name))
            }
            print("wrote \(seeds.count) seeds to \(folder)")
            exit(0)
        } catch {
            print("cannot write the seeds to \(folder): \(error)")
            exit(1)
        }
    }
}
