/// Seeded inputs for the random-bytes tests, the way a fuzzer makes them without its coverage
/// feedback: a quarter pure random bytes, the rest a seed with a few byte-level mutations.
public enum RandomInputs {
    public static func make(round: Int, seeds: [[UInt8]], using random: inout some RandomNumberGenerator) -> [UInt8] {
        if round % 4 == 0 || seeds.isEmpty {
            return (0..<Int.random(in: 0...96, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        return mutate(seeds[Int.random(in: 0..<seeds.count, using: &random)], using: &random)
    }

    /// 1 to 4 mutations: flip a bit, set a byte to an edge value, insert, erase, duplicate a run,
    /// truncate.
    public static func mutate(_ seed: [UInt8], using random: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[position] = [0, 0x7f, 0x80, 0xff, 0x0a, 0x22, 0x2c][Int.random(in: 0..<7, using: &random)]
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &random)))
            case 4 where !bytes.isEmpty:
                let run = bytes[position..<min(bytes.count, position + Int.random(in: 1...16, using: &random))]
                bytes.insert(contentsOf: run, at: position)
            default: bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }
}
