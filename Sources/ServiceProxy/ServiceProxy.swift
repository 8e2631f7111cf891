// The ServiceProxy module.
