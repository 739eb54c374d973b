//! Commits that contain only some paths, leaving the rest of the user index alone.
