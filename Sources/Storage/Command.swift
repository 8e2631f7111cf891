import Foundation

/// A command that exited with a failure status, with what it printed on stderr.
struct CommandError: Error, CustomStringConvertible {
    var command: [String]
    var status: Int32
    var stderr: String

    var description: String {
        let said = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(command.joined(separator: " ")) failed (exit \(status))" + (said.isEmpty ? "" : ": \(said)")
    }
}

/// Runs system tools without blocking the caller's thread.
enum Command {
    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The full path of a tool, or nil.
    static func find(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        return searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `arguments`, returns stdout; throws `CommandError` on a failure status.
    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        guard let first = arguments.first, let path = find(first) else {
            throw VolumeError("\(arguments.first ?? "command") not found (install e2fsprogs, util-linux and mount)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(arguments.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = searchPath.joined(separator: ":")
        env["LC_ALL"] = "C"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: VolumeError("cannot run \(first): \(error.localizedDescription)"))
            }
        }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else { throw CommandError(command: arguments, status: status, stderr: stderr) }
        return stdout
    }
}
