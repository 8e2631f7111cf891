import Foundation

/// Runs `nft -f -` with a transaction on standard input.
struct NFTCommand: Sendable {
    let path: String

    /// Finds `nft` on the usual paths.
    static func find() -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return paths.map { "\($0)/nft" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func apply(_ script: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-f", "-"]
        let stdin = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            // Write off the caller's thread: a large transaction fills the pipe buffer.
            let data = Data(script.utf8)
            Thread.detachNewThread {
                stdin.fileHandleForWriting.write(data)
                try? stdin.fileHandleForWriting.close()
            }
        }
        guard status == 0 else {
            let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw PolicyError(.nftFailed, "nft -f - failed (status \(status)): \(err.prefix(2000))")
        }
    }
}
