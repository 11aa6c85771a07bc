// Placeholder so that the Batching target compiles before its first real source file lands.
// Delete this file in the change that adds the module's code.
