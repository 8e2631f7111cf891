import KplaneCommands

await KplaneCommand.runMain()
