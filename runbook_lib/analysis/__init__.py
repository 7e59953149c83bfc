"""Pure analyses: frames in, frames or Findings out. Never import sources (I/O)."""
