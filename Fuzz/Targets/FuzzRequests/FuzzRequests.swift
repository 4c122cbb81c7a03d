import WardenFuzzing
import WardenService

/// The sample state, built once per process.
let service: WardenService = {
    do { return try SampleService.make() } catch { fatalError("the sample state: \(error)") }
}()

/// libFuzzer's entry: a request body decoded for a method id (`RequestDecoding`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let outcome = RequestDecoding.run(Array(UnsafeBufferPointer(start: data, count: size)), service: service)
    if let disagreement = outcome.disagreements.first {
        fatalError("\(outcome.method.map { "\($0)" } ?? "unknown method"): \(disagreement)")
    }
    return 0
}

/// libFuzzer calls this once before the inputs: writes the seed corpus when asked.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>?,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?
) -> CInt {
    SeedInputs.writeIfAsked(SeedInputs.requests())
    return 0
}
