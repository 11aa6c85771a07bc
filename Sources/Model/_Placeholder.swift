// Placeholder so that the Model target compiles before its first real source file lands.
// Delete this file in the change that adds the module's code.
