import Foundation

/// Runs node tools (`ip`, `mount`, …) and reports failures with their output.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public var argv: [String]
        public var status: Int32
        public var output: String
        public var description: String { "\(argv.joined(separator: " ")) failed (exit \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
    }

    /// Runs to completion on a background thread (never on the cooperative pool).
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil, check: Bool = true) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(argv, input: input, check: check) })
            }
        }
    }

    /// The blocking form, for the rare synchronous caller (cleanup on exit).
    @discardableResult
    public static func runBlocking(_ argv: [String], input: String? = nil, check: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolve(argv[0]))
        process.arguments = Array(argv.dropFirst())
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if check && process.terminationStatus != 0 {
            throw Failure(argv: argv, status: process.terminationStatus, output: text)
        }
        return text
    }

    /// Finds a tool in the usual system folders (the service may run with a bare PATH).
    public static func resolve(_ name: String) -> String {
        if name.hasPrefix("/") { return name }
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"] {
            let path = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/" + name
    }

    /// Quotes a word for /bin/sh.
    public static func shellQuote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
