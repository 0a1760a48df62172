//! Browser code (widget, agent console, admin pages) embedded in the binary.
