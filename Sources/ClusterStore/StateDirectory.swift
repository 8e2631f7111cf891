import Foundation

/// Where kplane keeps its state: `--state-dir`, else `KPLANE_STATE_DIR`, else
/// `/var/lib/kplane` for root and `~/.local/share/kplane` for other users.
public enum StateDirectory {
    public static func resolve(_ flag: String?) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let env = ProcessInfo.processInfo.environment["KPLANE_STATE_DIR"], !env.isEmpty { return env }
        if getuid() == 0 { return "/var/lib/kplane" }
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/share/kplane")
    }

    /// Creates the directory (and parents) with mode 0700.
    public static func create(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }
}
