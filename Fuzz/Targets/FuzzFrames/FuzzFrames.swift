import WardenFuzzing

/// libFuzzer's entry: frames cut from a byte stream in chunks (`FrameCutting`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let outcome = FrameCutting.run(Array(UnsafeBufferPointer(start: data, count: size)))
    if let disagreement = outcome.disagreements.first { fatalError("frames: \(disagreement)") }
    return 0
}

/// libFuzzer calls this once before the inputs: writes the seed corpus when asked.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    SeedInputs.writeIfAsked(SeedInputs.frames())
    return 0
}
