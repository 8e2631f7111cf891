import ArgumentParser
import ClusterStore
import Foundation

extension KplaneCommand {
    /// Runs the CLI, printing kplane's own errors the kubectl way (`error: …`, exit 1).
    public static func runMain() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            printError("error: \(error.description)")
            Foundation.exit(1)
        } catch let error as StoreError {
            printError(describe(error))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}
