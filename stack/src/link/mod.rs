//! Links: devices that carry frames to and from the stack.
