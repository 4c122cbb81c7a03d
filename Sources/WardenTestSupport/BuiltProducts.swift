import Foundation

/// The package's executables as `swift build` leaves them, for tests that start real processes.
public enum BuiltProducts {
    /// The executable `name`, next to the test bundle (`swift build --build-tests`), or in
    /// `.build/debug` of the package that holds `file` (pass `#filePath`).
    public static func executable(named name: String, file: String = #filePath) throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
                .appendingPathComponent(".build/debug"),
        ]
        for folder in candidates {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "\(name) (build it with swift build)"])
    }
}
