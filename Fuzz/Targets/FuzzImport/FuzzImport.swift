import WardenFuzzing

/// libFuzzer's entry: an import file parsed as JSON lines and as CSV (`ImportParsing`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let outcome = ImportParsing.run(Array(UnsafeBufferPointer(start: data, count: size)))
    if let disagreement = outcome.disagreements.first { fatalError("import: \(disagreement)") }
    return 0
}

/// libFuzzer calls this once before the inputs: writes the seed corpus when asked.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    SeedInputs.writeIfAsked(SeedInputs.imports())
    return 0
}
