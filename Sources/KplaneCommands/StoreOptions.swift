import ArgumentParser
import ClusterStore
import Foundation
import KubeModel

/// How every command finds the store: `--state-dir`, else `KPLANE_STATE_DIR`, else the default.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "State directory holding the store (default: $KPLANE_STATE_DIR, /var/lib/kplane as root, ~/.local/share/kplane otherwise).")
    var stateDir: String?

    var resolvedStateDir: String { StateDirectory.resolve(stateDir) }

    func open() throws -> SQLiteStore {
        do {
            return try SQLiteStore(directory: resolvedStateDir)
        } catch {
            throw CLIError("cannot open the store in \(resolvedStateDir): \(error)")
        }
    }
}

/// A failure the CLI reports as `error: …` with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// kubectl's rendering of a store error (`Error from server (NotFound): services "x" not found`).
func describe(_ error: StoreError) -> String {
    "Error from server (\(error.reason.rawValue)): \(error.message)"
}

/// Resolves kubectl-style kind names, failing like kubectl for unknown ones.
func resourceTypes(_ text: String) throws -> [ResourceType] {
    var types: [ResourceType] = []
    for name in text.split(separator: ",").map(String.init) {
        if name == "all" {
            types += [Pod.resourceType, Service.resourceType, Deployment.resourceType]
            continue
        }
        guard let type = Scheme.type(named: name) else {
            throw CLIError("the server doesn't have a resource type \"\(name)\"")
        }
        types.append(type)
    }
    return types
}
