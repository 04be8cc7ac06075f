/**
 * The cleanup queue; the Functions host moves an item that failed maxDequeueCount times to `<name>-poison`.
 * Named apart from the composition root (which re-exports it) so that the Function App's entry registers the
 * queue trigger without loading the stores behind it.
 */
export const CLEANUP_QUEUE = "uamiguard-cleanup";
export const CLEANUP_POISON_QUEUE = `${CLEANUP_QUEUE}-poison`;
