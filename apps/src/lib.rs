//! Applications on tunstack sockets, and the pieces of the `tunstack` command.
