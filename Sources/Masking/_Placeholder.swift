// Placeholder so that the Masking target compiles before its first real source file lands.
// Delete this file in the change that adds the module's code.
